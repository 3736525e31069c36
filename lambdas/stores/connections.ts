/**
 * Connections: one item per WebSocket connection, the mark that it is bound. Deliveries find a
 * user's connections in its mailbox (./mailboxes.ts); the `byUser` index stays only as a
 * repair path. Every frame may read its connection, so this store runs on the low-level client
 * with its middleware cached (lambdas/runtime/aws.ts dynamoLowLevel).
 */
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { fromTtl, isLive, toAttributes, toTtl } from './dynamo-common';
import { S, type TableDefinition } from './table-definition';

/** Live WebSocket connections (the row is the "bound" mark); `byUser` is only a repair path. */
export const connectionsTable = {
  envVar: 'TABLE_CONNECTIONS',
  partitionKey: S('connectionId'),
  ttlAttribute: 'expiresAt',
  globalIndexes: [{ indexName: 'byUser', partitionKey: S('userId'), sortKey: S('connectionId') }],
} as const satisfies TableDefinition;

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
   * As `get`, but never from a container's cache (CachedConnectionStore below): for the check that
   * closes a connection unbound meanwhile, e.g. by `signout` in another container.
   */
  getFresh(connectionId: string, now: number): Promise<Connection | undefined>;
  remove(connectionId: string): Promise<void>;
}

const fromItem = (item: Record<string, unknown>): Connection => ({
  ...(item as unknown as Connection),
  expiresAt: fromTtl(item.expiresAt as number),
});

export class DynamoConnectionStore implements ConnectionStore {
  constructor(
    private readonly db: DynamoDBClient,
    private readonly table: string,
  ) {}

  async bind(connection: Connection): Promise<void> {
    await this.db.send(
      new PutItemCommand({
        TableName: this.table,
        Item: toAttributes({ ...connection, expiresAt: toTtl(connection.expiresAt) }),
      }),
    );
  }

  async get(connectionId: string, now: number): Promise<Connection | undefined> {
    const { Item } = await this.db.send(
      new GetItemCommand({
        TableName: this.table,
        Key: { connectionId: { S: connectionId } },
        ConsistentRead: true,
      }),
    );
    const item = Item && unmarshall(Item);
    return item && isLive(item, now) ? fromItem(item) : undefined;
  }

  /** Always a read here: only CachedConnectionStore keeps a cache. */
  getFresh(connectionId: string, now: number): Promise<Connection | undefined> {
    return this.get(connectionId, now);
  }

  async remove(connectionId: string): Promise<void> {
    await this.db.send(
      new DeleteItemCommand({ TableName: this.table, Key: { connectionId: { S: connectionId } } }),
    );
  }
}

/**
 * A bound connection's user and device never change and a connection id is never reused, so a
 * Lambda container keeps what it read in memory: after its first frame, a connection costs no
 * read. Only bound connections are cached (an unbound one may bind any moment); signing out and
 * caps close the connection, so no frame arrives on a stale entry for long. The check that does
 * that closing reads past the cache (getFresh).
 */
/** Entries per container; the oldest go first past it (a Map keeps insertion order). */
export const CONNECTION_CACHE_SIZE = 10_000;

export class CachedConnectionStore implements ConnectionStore {
  private readonly bound = new Map<string, Connection>();

  constructor(private readonly store: ConnectionStore) {}

  bind(connection: Connection): Promise<void> {
    return this.store.bind(connection);
  }

  async get(connectionId: string, now: number): Promise<Connection | undefined> {
    const cached = this.bound.get(connectionId);
    if (cached && cached.expiresAt > now) return cached;
    const connection = await this.store.get(connectionId, now);
    if (connection) {
      if (this.bound.size >= CONNECTION_CACHE_SIZE)
        this.bound.delete(this.bound.keys().next().value!);
      this.bound.set(connectionId, connection);
    } else this.bound.delete(connectionId);
    return connection;
  }

  async getFresh(connectionId: string, now: number): Promise<Connection | undefined> {
    const connection = await this.store.getFresh(connectionId, now);
    if (!connection) this.bound.delete(connectionId);
    return connection;
  }

  async remove(connectionId: string): Promise<void> {
    this.bound.delete(connectionId);
    await this.store.remove(connectionId);
  }
}
