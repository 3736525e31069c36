/**
 * The request budgets of issue 10 point 1: DynamoDB requests per command by the code, as a
 * function of what they depend on. test/server/request-budgets.test.ts asserts each exactly (it
 * counts through middleware on the handlers' SDK clients); bench/cost-model.ts prices them;
 * docs/server.md states the same table. Pushes (@connections) are one per live connection
 * reached and are counted apart.
 */

/** DynamoDB reads a BatchGetItem over `keys` keys makes (100 keys a call). */
const batches = (keys: number) => Math.ceil(keys / 100);

export const BUDGETS = {
  /** the recipient's user item (its block list), rate window, mailbox counter, item + claim, recipient's mailbox. */
  send: 6,
  /** cursor item, inbox page; with a new page: the cursor write. */
  ackNothingNew: 2,
  /** cursor item, inbox page, cursor write, the inbox range passed; per receipt: the sender's mailbox counter, its item + claim, the mark, the sender's mailbox. */
  ackPassing: (receipts: number) => 4 + 5 * receipts,
  /**
   * An ack of one group stream: cursor item, membership rows, the group's head (and members);
   * its log page only when the head is past the cursor; the cursor write when something moved.
   */
  ackGroup: 5,
  ackGroupConfirming: 4,
  ackGroupNothingNew: 3,
  /**
   * session, its device (resumed), the session's slid expiry (one less when the expiry would not
   * move past the stored whole second), mailbox, connection row, the check
   * after binding (device and session again), cursor item, membership rows, inbox page; with
   * groups: their heads, a page read per group with news, the cursor write.
   */
  resume: (groups: number, groupsWithNews: number) =>
    10 + (groups > 0 ? batches(groups) : 0) + groupsWithNews + (groupsWithNews > 0 ? 1 : 0),
  /**
   * The user, two attempt reservations (read and swap each: account and address), giving them
   * back (reset, release), the device's new credential, the new session, mailbox, connection row,
   * the user again after binding, cursor item, membership rows, inbox page.
   */
  signinNoGroups: 15,
  /** rate window, the group item (membership, epoch and the log number at once), entry + claim, the members' mailboxes. */
  sendgroup: (members: number) => 4 + batches(members),
  /** sendgroup's, plus the blob's record and its read grants (BatchWriteItem, 25 a call). */
  sendgroupfile: (members: number) => 5 + batches(members) + Math.ceil((members - 1) / 25),
  /**
   * rate window, the group item, the joiner's published key (its join request), its last
   * departure (the rejoin cool-down), the request stored, add member, log entry + row, other
   * members' mailboxes, member bundles, the pending additions' artefacts, current epoch.
   */
  join: (membersAfter: number) => 10 + batches(membersAfter - 1) + batches(membersAfter),
} as const;
