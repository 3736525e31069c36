/**
 * Connections: one item per WebSocket connection, found per user through the user index. Every
 * frame reads its connection and every delivery queries its recipient's, so this store runs on
 * the low-level client with its middleware cached (lambdas/runtime/aws.ts dynamoLowLevel).
 */
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { TABLES } from '../../infra/resources';
import { fromTtl, isLive, toAttributes, toTtl } from './dynamo-common';
import type { Connection, ConnectionStore } from './ports';

const BY_USER = TABLES.connections.globalIndexes[0].indexName;

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

  async remove(connectionId: string): Promise<void> {
    await this.db.send(
      new DeleteItemCommand({ TableName: this.table, Key: { connectionId: { S: connectionId } } }),
    );
  }

  async listForUser(userId: string, now: number): Promise<Connection[]> {
    const connections: Connection[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: BY_USER,
          KeyConditionExpression: 'userId = :u',
          ExpressionAttributeValues: { ':u': { S: userId } },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of (page.Items ?? []).map((attributes) => unmarshall(attributes)))
        if (isLive(item, now)) connections.push(fromItem(item));
      start = page.LastEvaluatedKey;
    } while (start);
    return connections;
  }
}
