/**
 * The group ports: the group item (membership, count, current epoch and the log's counter live
 * together so they cannot drift), the per-user membership rows (with each member's place in the
 * log), epoch and key-share records, and the group's log (fan-out on read). The DynamoDB adapters
 * are dynamo-groups.ts and dynamo-group-log.ts.
 */
import type { Appended } from './ports';

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
  /** Who made the current epoch, its statement hash (base64), and its member list. */
  readonly epochBy?: string;
  readonly epochStatementHash?: string;
  readonly epochMembers: readonly string[];
  /** The current epoch's admins (the creator before epoch 1) and closed flag. */
  readonly admins: readonly string[];
  readonly closed: boolean;
  /** Users who left or were removed and whose departure no epoch has carried yet (their leave
   * or removal artefact is stored with putArtefact). */
  readonly departed: readonly string[];
  /** The next epoch while its maker stores key-shares: current once every member has one. */
  readonly claim?: EpochClaim;
  /** The last number taken in the group's log (0 before any). */
  readonly logSeq: number;
  /** Where the current epoch's entry sits in the log (absent before the log existed). */
  readonly epochLogSeq?: number;
}

export interface EpochClaim {
  readonly epoch: number;
  readonly by: string;
  /** The claimed statement's hash (base64). */
  readonly statementHash: string;
  readonly at: number;
  /** The statement's members: each needs a key-share. */
  readonly members: readonly string[];
}

/** A user's place in a group's log: it reads from `joinSeq` to `leftSeq` (or on, while a member). */
export interface Membership {
  readonly groupId: string;
  readonly joinSeq: number;
  readonly leftSeq?: number;
  readonly leftAt?: number;
}

/** What a page needs of a group: how far its log goes, and who is a member now. */
export interface LogHead {
  readonly logSeq: number;
  readonly memberIds: readonly string[];
}

export type SeqOutcome =
  | { readonly outcome: 'taken'; readonly seq: number; readonly group: GroupRecord }
  /** Not a member, or not the current epoch (or no such group). */
  | { readonly outcome: 'refused'; readonly group: GroupRecord | undefined };

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
  /** The group moved on (another epoch, another roster, a live claim by another, or I am no
   * longer a member). */
  | { readonly outcome: 'stale'; readonly group: GroupRecord | undefined };

export interface StoredArtefact {
  /** base64, as the frame carried it. */
  readonly artefact: string;
  /** The server's clock when it was stored (the rejoin cool-down counts from a departure's). */
  readonly storedAt: number;
}

/** Which artefact: a current member's addition, or a departed user's leave or removal. */
export type ArtefactSlot = 'addition' | 'departure';

export interface EpochRecord {
  readonly groupId: string;
  readonly epoch: number;
  readonly statement: string;
  readonly statementHash?: string;
  readonly proposer: string;
  readonly members: readonly string[];
  readonly createdAt: number;
}

export interface KeyShareRecord {
  readonly groupId: string;
  readonly epoch: number;
  /** The statement it was made for (base64 hash): a claim overtaken leaves shares of another. */
  readonly statementHash?: string;
  readonly to: string;
  readonly from: string;
  readonly messageId: string;
  readonly envelope: string;
  readonly createdAt: number;
}

export interface Page<T> {
  readonly items: T[];
  /** Opaque: pass back to get the next page; absent on the last one. */
  readonly next?: string;
}

export interface GroupStore {
  /** Creates the group with its creator as the only member (its join is log entry 1); undefined when the id is taken. */
  create(groupId: string, creator: string, now: number): Promise<GroupRecord | undefined>;
  /** Consistent read. */
  get(groupId: string): Promise<GroupRecord | undefined>;
  /**
   * Adds a member under `NOT contains(memberIds, me) AND memberCount < cap`, taking the log number
   * of its join entry (the group's `logSeq` afterwards).
   */
  addMember(groupId: string, userId: string, cap: number): Promise<JoinOutcome>;
  /**
   * Removes a member under `contains(memberIds, me)`, taking the log number of its leave entry,
   * and notes it in `departed` until an epoch carries the departure.
   */
  removeMember(groupId: string, userId: string): Promise<LeaveOutcome>;
  /** Stores the latest addition or departure artefact of a user (base64), replacing any. */
  putArtefact(
    groupId: string,
    slot: ArtefactSlot,
    userId: string,
    artefact: string,
    now: number,
  ): Promise<void>;
  /** The stored artefacts of these users in one slot (BatchGetItem); missing ones are left out. */
  artefactsOf(
    groupId: string,
    slot: ArtefactSlot,
    userIds: readonly string[],
  ): Promise<Map<string, StoredArtefact>>;
  /**
   * Takes the log number of a message: one conditional update that also checks that `from` is a
   * member and `epoch` is current, and answers the group as it is afterwards.
   */
  takeMessageSeq(groupId: string, from: string, epoch: number): Promise<SeqOutcome>;
  /** The user's membership row: reads the log from `joinSeq` on (a join, or a join again after a leave). */
  putMembership(userId: string, groupId: string, joinSeq: number, now: number): Promise<void>;
  /** Writes the row only when it is missing or says left (a repeated join that finds the member in the group). */
  repairMembership(userId: string, groupId: string, joinSeq: number, now: number): Promise<void>;
  /** Marks the row left at `leftSeq`: the user reads the log up to that entry and no further. */
  markLeft(userId: string, groupId: string, leftSeq: number, now: number): Promise<void>;
  /** Marks a row that still says "member" left at an unknown place: nothing more is read. */
  markLeftUnknown(userId: string, groupId: string, now: number): Promise<void>;
  /** Every membership row of a user, left ones included. */
  memberships(userId: string): Promise<Membership[]>;
  /** The groups a user is a member of ("my groups"), left ones skipped. */
  listMine(userId: string, limit: number, cursor?: string): Promise<Page<string>>;
  /** Many groups' log heads and members (BatchGetItem); missing groups are left out. */
  logHeads(groupIds: readonly string[]): Promise<Map<string, LogHead>>;
  /** Every group with its member count, a paginated Scan (the only Scan: LIST of all groups). */
  listAll(limit: number, cursor?: string): Promise<Page<{ groupId: string; memberCount: number }>>;
  /** Many groups' member counts (missing groups are left out). */
  counts(groupIds: readonly string[]): Promise<Map<string, number>>;

  /**
   * Claims `epoch` for `proposer`, if the group is still at `epoch - 1` with roster
   * `rosterVersion`, `proposer` is a member, and no other claim of it is younger than
   * `expiredBefore`; the group stays at `epoch - 1` until completeEpoch.
   */
  claimEpoch(claim: {
    groupId: string;
    epoch: number;
    proposer: string;
    statementHash: string;
    rosterVersion: number;
    members: readonly string[];
    now: number;
    expiredBefore: number;
  }): Promise<ClaimOutcome>;
  /**
   * Makes the claimed epoch current, if the claim is still `statementHash`'s: sets the epoch,
   * its members, admins and closed flag, drops `carried` from `departed`, ends the claim and
   * takes the log number of the epoch's entry (`epochLogSeq`). `stale` when someone else did.
   */
  completeEpoch(completion: {
    groupId: string;
    claim: EpochClaim;
    admins: readonly string[];
    closed: boolean;
    carried: readonly string[];
    now: number;
  }): Promise<ClaimOutcome>;
  /** The statement of a claim, kept while its key-shares are stored (by hash). */
  putClaimedStatement(
    groupId: string,
    epoch: number,
    hash: string,
    statement: string,
  ): Promise<void>;
  getClaimedStatement(groupId: string, epoch: number, hash: string): Promise<string | undefined>;
  /** Writes the epoch record under `attribute_not_exists`; false when it exists. */
  putEpoch(record: EpochRecord): Promise<boolean>;
  getEpoch(groupId: string, epoch: number): Promise<EpochRecord | undefined>;
  /**
   * Writes a key-share unless this member has one for that epoch and statement (false then); a
   * share of another statement of the epoch (an overtaken claim) is replaced.
   */
  putKeyShare(share: KeyShareRecord): Promise<boolean>;
  /** The key-shares of one epoch for these members (BatchGetItem), by recipient. */
  keySharesOfEpoch(
    groupId: string,
    epoch: number,
    to: readonly string[],
  ): Promise<Map<string, KeyShareRecord>>;
  getKeyShare(groupId: string, epoch: number, to: string): Promise<KeyShareRecord | undefined>;
  /** A member's key-shares of several epochs (BatchGetItem), keyed `<groupId>#<epoch>`; missing ones are left out. */
  keySharesOf(
    to: string,
    epochs: readonly { readonly groupId: string; readonly epoch: number }[],
  ): Promise<Map<string, KeyShareRecord>>;
  /** A member's key-shares of a group with epoch > `after`, oldest first. */
  keySharesFor(
    groupId: string,
    to: string,
    after: number,
    limit: number,
  ): Promise<KeyShareRecord[]>;
}

/** An entry of a group's log, as a page reads it. */
interface LogEntryBase {
  readonly groupId: string;
  readonly seq: number;
  readonly messageId: string;
  readonly sentAt: number;
  /** When the entry was written, after its number was taken (lambdas/core/stream-walk.ts). */
  readonly storedAt: number;
}
export interface MessageLogEntry extends LogEntryBase {
  readonly kind: 'message';
  readonly from: string;
  readonly epoch: number;
  readonly envelope: string;
}
/** An epoch became current: readers get it with their own key-share. */
export interface EpochLogEntry extends LogEntryBase {
  readonly kind: 'epoch';
  readonly from: string;
  readonly epoch: number;
  readonly statement: string;
  /** Its hash (base64): only key-shares made for it are served with it. */
  readonly statementHash?: string;
}
export interface MembershipLogEntry extends LogEntryBase {
  readonly kind: 'member-joined' | 'member-left';
  readonly userId: string;
  readonly memberCount: number;
  readonly epoch: number;
}
/** A number a retry took and did not use (claim and skip). */
export interface SkippedLogEntry extends LogEntryBase {
  readonly kind: 'skipped';
}
export type GroupLogEntry = MessageLogEntry | EpochLogEntry | MembershipLogEntry | SkippedLogEntry;

type NewEntry<T> = T extends GroupLogEntry ? Omit<T, 'seq' | 'storedAt'> : never;
export type NewLogEntry = NewEntry<GroupLogEntry>;
export type NewMessageEntry = NewEntry<MessageLogEntry>;

/** One log per group, numbered by the group item's counter; entries expire after the retention. */
export interface GroupLogStore {
  /**
   * Writes a message at `seq` (just taken from the group item) unless (group, sender, message id)
   * was taken before (claim and skip, lambdas/stores/claimed-append.ts).
   */
  appendMessage(seq: number, message: NewMessageEntry, now: number): Promise<Appended>;
  /** Writes a notice, an epoch or a skipped number at `seq` unless an entry is there already (then false). */
  putEntry(seq: number, entry: NewLogEntry, now: number): Promise<boolean>;
  /** Entries with `after` < seq ≤ `until` (no upper bound when absent), ascending, at most `limit`. */
  entries(
    groupId: string,
    after: number,
    until: number | undefined,
    limit: number,
    now: number,
  ): Promise<{ items: GroupLogEntry[]; more: boolean }>;
}
