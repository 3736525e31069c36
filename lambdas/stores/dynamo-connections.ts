/**
 * Connections: one item per WebSocket connection, the mark that it is bound. Deliveries find a
 * user's connections in its mailbox (dynamo-mailboxes.ts); the `byUser` index stays only as a
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
import type { Connection, ConnectionStore } from './ports';

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

  /** Always a read here: only ./cached-connections.ts keeps a cache. */
  getFresh(connectionId: string, now: number): Promise<Connection | undefined> {
    return this.get(connectionId, now);
  }

  async remove(connectionId: string): Promise<void> {
    await this.db.send(
      new DeleteItemCommand({ TableName: this.table, Key: { connectionId: { S: connectionId } } }),
    );
  }
}
