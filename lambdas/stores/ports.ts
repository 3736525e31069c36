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
}

export interface UserStore {
  /** False when the name is taken (conditional write). */
  create(user: UserRecord): Promise<boolean>;
  get(userId: string): Promise<UserRecord | undefined>;
  /** Refuses (false) when stored identity keys differ from the bundle's: they are never silently replaced. */
  publishBundle(userId: string, bundle: PublicBundleWire): Promise<boolean>;
  putBackup(userId: string, backup: string): Promise<void>;
}

export interface Session {
  readonly tokenHash: string;
  readonly userId: string;
  readonly deviceId: string;
  readonly expiresAt: number;
}

export interface SessionStore {
  create(session: Session): Promise<void>;
  get(tokenHash: string, now: number): Promise<Session | undefined>;
}

export interface Connection {
  readonly connectionId: string;
  readonly userId: string;
  readonly deviceId: string;
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
  /** Appends with the next sequence number; a retry of the same message id returns the first seq. */
  append(
    userId: string,
    item: NewInboxItem,
    now: number,
  ): Promise<{ seq: number; duplicate: boolean }>;
  /** Items with seq > `after`, ascending. */
  after(userId: string, after: number, limit: number, now: number): Promise<InboxItem[]>;
  /** How many items with seq > `after` are for the device (skipped numbers are not). */
  countAfter(userId: string, after: number, now: number): Promise<number>;
}

export interface CounterStore {
  /** Atomically adds one and returns the new count; the window starts at the first hit. */
  increment(key: string, expiresAt: number): Promise<{ count: number; updatedAt: number }>;
  get(key: string, now: number): Promise<{ count: number; updatedAt: number } | undefined>;
  reset(key: string): Promise<void>;
  /** Device cursors: only ever move forward. */
  getCursor(userId: string, deviceId: string): Promise<number>;
  advanceCursor(userId: string, deviceId: string, seq: number): Promise<void>;
}
