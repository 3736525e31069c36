import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { TABLES } from '../../infra/resources';
import { fromTtl, isLive, toTtl } from './dynamo-common';
import type { Connection, ConnectionStore } from './ports';

const BY_USER = TABLES.connections.globalIndexes[0].indexName;

const fromItem = (item: Record<string, unknown>): Connection => ({
  ...(item as unknown as Connection),
  expiresAt: fromTtl(item.expiresAt as number),
});

export class DynamoConnectionStore implements ConnectionStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async bind(connection: Connection): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...connection, expiresAt: toTtl(connection.expiresAt) },
      }),
    );
  }

  async get(connectionId: string, now: number): Promise<Connection | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { connectionId }, ConsistentRead: true }),
    );
    return Item && isLive(Item, now) ? fromItem(Item) : undefined;
  }

  async remove(connectionId: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: { connectionId } }));
  }

  async listForUser(userId: string, now: number): Promise<Connection[]> {
    const connections: Connection[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: BY_USER,
          KeyConditionExpression: 'userId = :u',
          ExpressionAttributeValues: { ':u': userId },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) if (isLive(item, now)) connections.push(fromItem(item));
      start = page.LastEvaluatedKey;
    } while (start);
    return connections;
  }
}
