import {
  DeleteCommand,
  GetCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { isConditionFailure, isLive, toTtl } from './dynamo-common';
import type { CounterStore } from './ports';

const cursorKey = (userId: string, deviceId: string) => `cursor#${userId}#${deviceId}`;

export class DynamoCounterStore implements CounterStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async increment(key: string, expiresAt: number): Promise<{ count: number; updatedAt: number }> {
    const now = Date.now();
    const { Attributes } = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { key },
        UpdateExpression:
          'ADD #count :one SET updatedAt = :now, expiresAt = if_not_exists(expiresAt, :expires)',
        ExpressionAttributeNames: { '#count': 'count' },
        ExpressionAttributeValues: { ':one': 1, ':now': now, ':expires': toTtl(expiresAt) },
        ReturnValues: 'ALL_NEW',
      }),
    );
    // A window that expired but was not yet deleted by TTL starts over.
    if (!isLive(Attributes, now)) {
      await this.reset(key);
      return this.increment(key, expiresAt);
    }
    return { count: Attributes!.count as number, updatedAt: now };
  }

  async get(key: string, now: number): Promise<{ count: number; updatedAt: number } | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { key }, ConsistentRead: true }),
    );
    if (!Item || !isLive(Item, now)) return undefined;
    return { count: Item.count as number, updatedAt: Item.updatedAt as number };
  }

  async reset(key: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: { key } }));
  }

  async getCursor(userId: string, deviceId: string): Promise<number> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { key: cursorKey(userId, deviceId) },
        ConsistentRead: true,
      }),
    );
    return (Item?.seq as number | undefined) ?? 0;
  }

  async advanceCursor(userId: string, deviceId: string, seq: number): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { key: cursorKey(userId, deviceId) },
          UpdateExpression: 'SET seq = :seq',
          ConditionExpression: 'attribute_not_exists(seq) OR seq < :seq',
          ExpressionAttributeValues: { ':seq': seq },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error; // an older ack arriving late changes nothing
    }
  }
}
