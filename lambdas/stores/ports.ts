/**
 * The server's ports: one small store interface per aggregate. Cores depend on these only;
 * the DynamoDB adapters (dynamo-*.ts) implement them. Every store treats items past their
 * `expiresAt` as absent, because TTL deletion is late in AWS and absent locally.
 */
import type { PublicBundleWire } from '../../protocol/commands';

export interface UserRecord {
  readonly userId: string;
  /** scrypt(auth key, salt); the auth key itself is never stored. */
  readonly authSalt: string;
  readonly authHash: string;
  readonly createdAt: number;
  readonly bundle?: PublicBundleWire;
  /** The key backup, sealed by the client under a key the server never sees. */
  readonly backup?: string;
  /** The backup's version as its writer named it (0 for a backup stored before versions). */
  readonly backupVersion?: number;
  /** Users whose 1:1 messages and files to this user are dropped. */
  readonly blocked?: readonly string[];
}

export type PublishOutcome = 'published' | 'identity-differs' | 'prekey-not-newer';
export type BackupOutcome = { stored: true } | { stored: false; currentVersion: number };

export interface UserStore {
  /** False when the name is taken (conditional write). */
  create(user: UserRecord): Promise<boolean>;
  get(userId: string): Promise<UserRecord | undefined>;
  /**
   * Stores the bundle unless its identity keys differ from the stored ones (never silently
   * replaced) or its signed prekey is not newer than the stored one (the same prekey again is
   * a harmless retry).
   */
  publishBundle(userId: string, bundle: PublicBundleWire): Promise<PublishOutcome>;
  /** Compare and swap: stores the backup as `version` only while the stored version is `replaces`. */
  putBackup(
    userId: string,
    backup: string,
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
  bind(connection: Connection): Promise<void>;
  get(connectionId: string, now: number): Promise<Connection | undefined>;
  remove(connectionId: string): Promise<void>;
  /** Live connections of a user, through the user index (never a Scan). */
  listForUser(userId: string, now: number): Promise<Connection[]>;
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
   * lower number was allocated (lambdas/core/cursor.ts). Absent on items stored before it existed.
   */
  readonly storedAt?: number;
}

/** A 1:1 envelope. */
export interface DirectInboxItem extends InboxItemBase {
  readonly kind: 'message';
  readonly envelope: string;
}

/** A group message: a pointer to its body, stored once (lambdas/stores/group-ports.ts). */
export interface GroupPointerItem extends InboxItemBase {
  readonly kind: 'group-message';
  readonly groupId: string;
  readonly epoch: number;
}

/** A wrapped group key for this user; its epoch statement is resolved when pushed. */
export interface KeyShareInboxItem extends InboxItemBase {
  readonly kind: 'key-share';
  readonly groupId: string;
  readonly epoch: number;
  readonly envelope: string;
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

export type InboxItem =
  DirectInboxItem | GroupPointerItem | KeyShareInboxItem | ReceiptInboxItem | SkippedInboxItem;

type NewItem<T> = T extends InboxItem
  ? Omit<T, 'seq' | 'userId' | 'expiresAt' | 'storedAt'>
  : never;
export type NewInboxItem = NewItem<InboxItem>;
export type NewDirectInboxItem = NewItem<DirectInboxItem>;

export interface InboxStore {
  /**
   * Appends with the next sequence number; a retry of the same message id from the same sender
   * returns the first seq (two senders may use one message id: each gets its own item).
   */
  append(
    userId: string,
    item: NewInboxItem,
    now: number,
  ): Promise<{ seq: number; duplicate: boolean }>;
  /** Items with seq > `after`, ascending. */
  after(userId: string, after: number, limit: number, now: number): Promise<InboxItem[]>;
  /** How many items with seq > `after` are for the device (skipped numbers are not). */
  countAfter(userId: string, after: number, now: number): Promise<number>;
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
  /** Atomically adds one and returns the new count; the window starts at the first hit. */
  increment(key: string, expiresAt: number): Promise<{ count: number; updatedAt: number }>;
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
  /** Device cursors: only ever move forward. */
  getCursor(userId: string, deviceId: string): Promise<number>;
  advanceCursor(userId: string, deviceId: string, seq: number): Promise<void>;
}
