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

export interface InboxItem {
  readonly userId: string;
  readonly seq: number;
  readonly kind: 'message';
  readonly from: string;
  readonly messageId: string;
  readonly envelope: string;
  readonly sentAt: number;
  readonly expiresAt: number;
}

export type NewInboxItem = Omit<InboxItem, 'seq' | 'userId' | 'expiresAt'>;

export interface InboxStore {
  /** Appends with the next sequence number; a retry of the same message id returns the first seq. */
  append(
    userId: string,
    item: NewInboxItem,
    now: number,
  ): Promise<{ seq: number; duplicate: boolean }>;
  /** Items with seq > `after`, ascending. */
  after(userId: string, after: number, limit: number, now: number): Promise<InboxItem[]>;
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
