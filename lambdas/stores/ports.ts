/**
 * The server's ports: one small store interface per aggregate. Cores depend on these only;
 * the DynamoDB adapters (dynamo-*.ts) implement them. Every store treats items past their
 * `expiresAt` as absent, because TTL deletion is late in AWS and absent locally.
 */
import type { BackupBlobRef, PublicBundleWire } from '../../protocol/commands';

export interface UserRecord {
  readonly userId: string;
  /** scrypt(auth key, salt); the auth key itself is never stored. */
  readonly authSalt: string;
  readonly authHash: string;
  readonly createdAt: number;
  readonly bundle?: PublicBundleWire;
  /** The key backup, sealed by the client under a key the server never sees. */
  readonly backup?: string;
  /** Instead of `backup`: a backup too big for an item, kept in the bucket (lambdas/core/backup-blobs.ts). */
  readonly backupBlob?: BackupBlobRef;
  /** The backup's version as its writer named it (0 for a backup stored before versions). */
  readonly backupVersion?: number;
  /** Users whose 1:1 messages and files to this user are dropped. */
  readonly blocked?: readonly string[];
}

export type PublishOutcome = 'published' | 'identity-differs' | 'prekey-not-newer';
/** A key backup as the user item holds it: inline, or a reference to its kept blob. */
export type StoredBackup = { readonly inline: string } | { readonly blob: BackupBlobRef };
export type BackupOutcome =
  /** `replacedBlob`: the kept blob of the backup this one replaced, now unreferenced. */
  { stored: true; replacedBlob?: BackupBlobRef } | { stored: false; currentVersion: number };

export interface UserStore {
  /** False when the name is taken (conditional write). */
  create(user: UserRecord): Promise<boolean>;
  get(userId: string): Promise<UserRecord | undefined>;
  /** Many users' published bundles (BatchGetItem, 100 keys a call); users without one are absent. */
  bundlesOf(userIds: readonly string[]): Promise<Map<string, PublicBundleWire>>;
  /** Of these users, those who block `blockedId` (BatchGetItem). */
  blockersOf(userIds: readonly string[], blockedId: string): Promise<Set<string>>;
  /**
   * Stores the bundle unless its identity keys differ from the stored ones (never silently
   * replaced) or its signed prekey is not newer than the stored one (the same prekey again is
   * a harmless retry).
   */
  publishBundle(userId: string, bundle: PublicBundleWire): Promise<PublishOutcome>;
  /** Compare and swap: stores the backup as `version` only while the stored version is `replaces`. */
  putBackup(
    userId: string,
    backup: StoredBackup,
    version: number,
    replaces: number,
  ): Promise<BackupOutcome>;
  /** Replaces the auth key's hash if it is still `expectedHash`; false when it changed meanwhile. */
  changeAuthKey(
    userId: string,
    expectedHash: string,
    next: { authSalt: string; authHash: string },
  ): Promise<boolean>;
  /** Adds to the block list unless it already holds `max` users; false when full. */
  block(userId: string, blockedId: string, max: number): Promise<boolean>;
  unblock(userId: string, blockedId: string): Promise<void>;
}

export interface Session {
  readonly tokenHash: string;
  readonly userId: string;
  readonly deviceId: string;
  /** When it was opened: a session counts only if its device's sessions started no later. */
  readonly issuedAt: number;
  readonly expiresAt: number;
}

export interface SessionStore {
  create(session: Session): Promise<void>;
  /** Sessions opened before `issuedAt` existed (none has it) read as absent: sign in again. */
  get(tokenHash: string, now: number): Promise<Session | undefined>;
  /** Moves the expiry (a resume); a session revoked meanwhile stays revoked. */
  slide(tokenHash: string, expiresAt: number): Promise<void>;
  revoke(tokenHash: string): Promise<void>;
}

/**
 * One device of an account. A session counts only while its device exists and its `issuedAt`
 * is not before `sessionsFrom`; removing the device or moving `sessionsFrom` ends them all.
 */
export interface DeviceRecord {
  readonly userId: string;
  readonly deviceId: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  readonly sessionsFrom: number;
  /** The id of its one valid device credential, if it has one. */
  readonly credentialId?: string;
}

/** A one-time device credential not yet used. */
export interface InviteRecord {
  readonly userId: string;
  readonly credentialId: string;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface DeviceStore {
  get(userId: string, deviceId: string): Promise<DeviceRecord | undefined>;
  list(userId: string): Promise<DeviceRecord[]>;
  /**
   * A signin on this device: creates it (its sessions count from `now`) or touches it, and makes
   * `credentialId` its one valid credential.
   */
  signedIn(userId: string, deviceId: string, credentialId: string, now: number): Promise<void>;
  /** Touches the device if a session issued at `issuedAt` still counts; false when it does not. */
  resumed(userId: string, deviceId: string, issuedAt: number, now: number): Promise<boolean>;
  /** Makes `credentialId` its one valid credential (undefined: none), if the device exists. */
  setCredential(userId: string, deviceId: string, credentialId: string | undefined): Promise<void>;
  /** Revokes this credential if it is still the device's. */
  revokeCredential(userId: string, deviceId: string, credentialId: string): Promise<void>;
  /** Ends every session issued before `now` and revokes the credential. */
  endSessions(userId: string, deviceId: string, now: number): Promise<void>;
  /** False when there was no such device. */
  remove(userId: string, deviceId: string): Promise<boolean>;
  putInvite(invite: InviteRecord): Promise<void>;
  getInvite(userId: string, credentialId: string, now: number): Promise<InviteRecord | undefined>;
  removeInvite(userId: string, credentialId: string): Promise<void>;
}

export interface Connection {
  readonly connectionId: string;
  readonly userId: string;
  readonly deviceId: string;
  /** The session it was bound with, so signing out ends exactly that one. */
  readonly tokenHash?: string;
  readonly connectedAt: number;
  readonly expiresAt: number;
}

export interface ConnectionStore {
  /** Writes the connection's row: from then on it counts as bound. */
  bind(connection: Connection): Promise<void>;
  get(connectionId: string, now: number): Promise<Connection | undefined>;
  /**
   * As `get`, but never from a container's cache (./cached-connections.ts): for the check that
   * closes a connection unbound meanwhile, e.g. by `signout` in another container.
   */
  getFresh(connectionId: string, now: number): Promise<Connection | undefined>;
  remove(connectionId: string): Promise<void>;
}

/** A live connection as a user's mailbox lists it. */
export interface MailboxConnection {
  readonly connectionId: string;
  readonly deviceId: string;
  readonly connectedAt: number;
  readonly expiresAt: number;
}

/** One item per user: its live connections and its inbox counter. */
export interface MailboxStore {
  /** The new user's mailbox (at signup): no connections, the inbox counter at 0. */
  create(userId: string): Promise<void>;
  /** The mailbox of a user from before mailboxes existed, made on first use; no-op when it exists. */
  ensure(userId: string): Promise<void>;
  /** Records a connection; returns every connection listed afterwards (expired ones too), oldest first. */
  addConnection(userId: string, connection: MailboxConnection): Promise<MailboxConnection[]>;
  removeConnections(userId: string, connectionIds: readonly string[]): Promise<void>;
  /** Live connections of many users (BatchGetItem, 100 keys a call); users without a mailbox are absent. */
  connectionsOf(userIds: readonly string[], now: number): Promise<Map<string, MailboxConnection[]>>;
  /** The user's next inbox number (an atomic counter); undefined when the user has no mailbox. */
  takeInboxSeq(userId: string): Promise<number | undefined>;
}

interface InboxItemBase {
  readonly userId: string;
  readonly seq: number;
  readonly from: string;
  readonly messageId: string;
  readonly sentAt: number;
  readonly expiresAt: number;
  /**
   * When the store wrote the item, taken after its number was allocated: it bounds when every
   * lower number was allocated (lambdas/core/stream-walk.ts). Absent on items stored before it existed.
   */
  readonly storedAt?: number;
}

/** A 1:1 envelope; `receiptAt` once a device of the recipient acknowledged it (receipt sent). */
export interface DirectInboxItem extends InboxItemBase {
  readonly kind: 'message';
  readonly envelope: string;
  readonly receiptAt?: number;
}

/** The server's word that `from`, the recipient, has received this user's message `ofMessageId`. */
export interface ReceiptInboxItem extends InboxItemBase {
  readonly kind: 'receipt';
  readonly ofMessageId: string;
}

/**
 * A number an attempt took but did not use (it lost to a retry or a racing attempt of the same
 * message): stored so that cursors move over it at once instead of waiting for it to settle.
 */
export interface SkippedInboxItem extends InboxItemBase {
  readonly kind: 'skipped';
}

/** Inbox items of kinds from before group logs (group pointers, key-shares) read as skipped. */
export type InboxItem = DirectInboxItem | ReceiptInboxItem | SkippedInboxItem;

type NewItem<T> = T extends InboxItem
  ? Omit<T, 'seq' | 'userId' | 'expiresAt' | 'storedAt' | 'receiptAt'>
  : never;
export type NewInboxItem = NewItem<InboxItem>;
export type NewDirectInboxItem = NewItem<DirectInboxItem>;

/** What appending a message to a stream (an inbox, a group's log) answers. */
export interface Appended {
  /** The number the message keeps. */
  readonly seq: number;
  /** True when its message id was taken before (a retry): nothing new was stored. */
  readonly duplicate: boolean;
  /** When it was sent: the time of the attempt that holds its claim. */
  readonly sentAt: number;
}

export interface InboxStore {
  /**
   * Writes the item at `seq`, a number just taken from the user's mailbox, unless its message id
   * was taken before (lambdas/stores/claimed-append.ts): answers the number the message keeps.
   */
  appendAt(userId: string, seq: number, item: NewInboxItem, now: number): Promise<Appended>;
  /** Items with seq > `after`, ascending, at most `limit`; `more` when the read stopped at the limit. */
  after(
    userId: string,
    after: number,
    limit: number,
    now: number,
  ): Promise<{ items: InboxItem[]; more: boolean }>;
  /** Marks a 1:1 message as receipted (conditional): false when a device did so before. */
  markReceipted(userId: string, seq: number, now: number): Promise<boolean>;
  /**
   * Records a message dropped for a block, without a number or an item: true when this sender
   * already sent this message id (so a retry answers `duplicate` as an accepted one would).
   */
  recordDropped(userId: string, from: string, messageId: string, now: number): Promise<boolean>;
}

/**
 * Sign-in attempts reserved under one key (an account, an address, a device credential) and not
 * released; `version` changes with every write, so a reservation is a compare-and-swap on it.
 */
export interface AttemptCounter {
  readonly count: number;
  /** No further attempt may be reserved before this (ms since epoch). */
  readonly nextAt: number;
  readonly version: number;
  readonly expiresAt: number;
}

export interface CounterStore {
  /** Atomically adds `by` (default 1) and returns the new count; the window starts at the first hit. */
  increment(
    key: string,
    expiresAt: number,
    by?: number,
  ): Promise<{ count: number; updatedAt: number }>;
  /**
   * Atomically adds `amount` unless the total would pass `max`; the window starts at the first
   * add. Returns whether it was added and the total (after adding, or as it stands when refused).
   */
  addWithin(
    key: string,
    amount: number,
    max: number,
    expiresAt: number,
  ): Promise<{ added: boolean; total: number }>;
  get(key: string, now: number): Promise<{ count: number; updatedAt: number } | undefined>;
  reset(key: string): Promise<void>;
  getAttempts(key: string, now: number): Promise<AttemptCounter | undefined>;
  /**
   * Writes `next` if the counter is still `seen` (undefined: absent or expired); false when
   * another attempt changed it first.
   */
  swapAttempts(
    key: string,
    seen: AttemptCounter | undefined,
    next: Omit<AttemptCounter, 'version'>,
    now: number,
  ): Promise<boolean>;
  /** Gives back one reserved attempt (never below zero). */
  releaseAttempt(key: string): Promise<void>;
}

/** A device's place in each of its streams (protocol/catch-up.ts), kept in one item. */
export interface DeviceCursors {
  /** Everything up to each number is processed, per stream. */
  readonly cursors: Readonly<Record<string, number>>;
  /** The highest `through` put in a page for this device on connection `servedOn`, per stream. */
  readonly served: Readonly<Record<string, number>>;
  readonly servedOn?: string;
  /** Bumped by every write: a write is made only over the version it read. */
  readonly version: number;
}

export interface DeviceCursorStore {
  get(userId: string, deviceId: string): Promise<DeviceCursors>;
  /** Writes `next` if the stored version is still `next.version` (stored as version + 1); false when another write came first. */
  save(userId: string, deviceId: string, next: DeviceCursors): Promise<boolean>;
}
