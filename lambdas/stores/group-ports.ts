/**
 * The group ports: the group item (membership, count and current epoch live together so they
 * cannot drift), the per-user membership index, epoch and key-share records, group message
 * bodies (stored once) and the inbox pointers of a fan-out. The DynamoDB adapters are
 * dynamo-groups.ts and dynamo-group-inbox.ts.
 */
import type { NewInboxItem } from './ports';

export interface GroupRecord {
  readonly groupId: string;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly memberIds: readonly string[];
  readonly memberCount: number;
  /** Bumped by every join and leave: an epoch is claimed for exactly the list it read. */
  readonly rosterVersion: number;
  /** The current epoch; 0 until the creator stores epoch 1. */
  readonly epoch: number;
  /** Who made the current epoch, the SHA-256 (hex) of its statement, and its member list. */
  readonly epochBy?: string;
  readonly epochStatementHash?: string;
  readonly epochMembers: readonly string[];
}

export type JoinOutcome =
  | { readonly outcome: 'joined'; readonly group: GroupRecord }
  | { readonly outcome: 'already-member'; readonly group: GroupRecord }
  | { readonly outcome: 'full'; readonly group: GroupRecord }
  | { readonly outcome: 'missing' };

export type LeaveOutcome =
  | { readonly outcome: 'left'; readonly group: GroupRecord }
  | { readonly outcome: 'not-member'; readonly group: GroupRecord }
  | { readonly outcome: 'missing' };

export type ClaimOutcome =
  | { readonly outcome: 'claimed'; readonly group: GroupRecord }
  /** The group moved on (another epoch, another roster, or I am no longer a member). */
  | { readonly outcome: 'stale'; readonly group: GroupRecord | undefined };

export interface EpochRecord {
  readonly groupId: string;
  readonly epoch: number;
  readonly statement: string;
  readonly proposer: string;
  readonly members: readonly string[];
  readonly createdAt: number;
}

export interface KeyShareRecord {
  readonly groupId: string;
  readonly epoch: number;
  readonly to: string;
  readonly from: string;
  readonly messageId: string;
  readonly envelope: string;
  readonly createdAt: number;
}

export interface GroupMessageBody {
  readonly groupId: string;
  readonly epoch: number;
  readonly from: string;
  readonly messageId: string;
  readonly envelope: string;
  readonly sentAt: number;
  readonly expiresAt: number;
  /** Each recipient's inbox sequence number, recorded once before any pointer is written. */
  readonly seqs?: Readonly<Record<string, number>>;
  /** When `seqs` was recorded or last moved (absent on bodies from before: counts as long ago). */
  readonly seqsAt?: number;
}

export interface Page<T> {
  readonly items: T[];
  /** Opaque: pass back to get the next page; absent on the last one. */
  readonly next?: string;
}

export interface GroupStore {
  /** Creates the group with its creator as the only member; false when the id is taken. */
  create(groupId: string, creator: string, now: number): Promise<boolean>;
  /** Consistent read. */
  get(groupId: string): Promise<GroupRecord | undefined>;
  /** Adds a member under `NOT contains(memberIds, me) AND memberCount < cap`. */
  addMember(groupId: string, userId: string, cap: number): Promise<JoinOutcome>;
  /** Removes a member under `contains(memberIds, me)`. */
  removeMember(groupId: string, userId: string): Promise<LeaveOutcome>;
  /** The per-user membership index ("my groups"). */
  putMembership(userId: string, groupId: string, now: number): Promise<void>;
  deleteMembership(userId: string, groupId: string): Promise<void>;
  listMine(userId: string, limit: number, cursor?: string): Promise<Page<string>>;
  /** Every group with its member count, a paginated Scan (the only Scan: LIST of all groups). */
  listAll(limit: number, cursor?: string): Promise<Page<{ groupId: string; memberCount: number }>>;
  /** Many groups' member counts (missing groups are left out). */
  counts(groupIds: readonly string[]): Promise<Map<string, number>>;

  /**
   * Makes `epoch` current, if the group is still at `epoch - 1` with roster `rosterVersion`
   * and `proposer` is a member; `members` (read with that roster version) become the epoch's.
   */
  claimEpoch(claim: {
    groupId: string;
    epoch: number;
    proposer: string;
    statementHash: string;
    rosterVersion: number;
    members: readonly string[];
    now: number;
  }): Promise<ClaimOutcome>;
  /** Writes the epoch record under `attribute_not_exists`; false when it exists. */
  putEpoch(record: EpochRecord): Promise<boolean>;
  getEpoch(groupId: string, epoch: number): Promise<EpochRecord | undefined>;
  /** Writes a key-share under `attribute_not_exists`; false when this member already has one for that epoch. */
  putKeyShare(share: KeyShareRecord): Promise<boolean>;
  getKeyShare(groupId: string, epoch: number, to: string): Promise<KeyShareRecord | undefined>;
  /** A member's key-shares of a group with epoch > `after`, oldest first. */
  keySharesFor(
    groupId: string,
    to: string,
    after: number,
    limit: number,
  ): Promise<KeyShareRecord[]>;
}

/** Group message bodies, stored once per (group, sender, message id) next to the group's keys. */
export interface GroupMessageStore {
  /** Stores a group message body once; false when (group, sender, message id) exists already. */
  putMessage(body: GroupMessageBody): Promise<boolean>;
  getMessage(
    groupId: string,
    from: string,
    messageId: string,
    now: number,
  ): Promise<GroupMessageBody | undefined>;
  /**
   * Records the recipients' sequence numbers on the body, once: the first attempt to record wins
   * and every attempt gets the winner's numbers back, so pointers are only ever written there.
   */
  recordSeqs(
    body: Pick<GroupMessageBody, 'groupId' | 'from' | 'messageId'>,
    seqs: Readonly<Record<string, number>>,
    now: number,
  ): Promise<Readonly<Record<string, number>>>;
  /**
   * Moves recipients to new numbers, each only if it is still at its `from` number (so of two
   * attempts moving the same recipient, one wins); returns the numbers recorded afterwards.
   */
  moveSeqs(
    body: Pick<GroupMessageBody, 'groupId' | 'from' | 'messageId'>,
    moves: Readonly<Record<string, { readonly from: number; readonly to: number }>>,
    now: number,
  ): Promise<Readonly<Record<string, number>>>;
}

/** Fan-out writes into the inbox: a sequence number per recipient, then batched item writes. */
export interface GroupInboxStore {
  /** The next sequence number of each recipient's inbox (an atomic counter each). */
  allocateSeqs(recipients: readonly string[]): Promise<Record<string, number>>;
  /** The recipients with no inbox item at their number. */
  missingItems(seqs: Readonly<Record<string, number>>): Promise<string[]>;
  /** Writes the same item (a pointer, or a skipped number) into each recipient's inbox at its number (idempotent puts). */
  writePointers(
    seqs: Readonly<Record<string, number>>,
    item: NewInboxItem,
    now: number,
  ): Promise<void>;
}
