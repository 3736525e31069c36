import {
  DeleteCommand,
  GetCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { conditionHolds, fromTtl, isConditionFailure, isLive, toTtl } from './dynamo-common';
import type { AttemptCounter, CounterStore } from './ports';

export class DynamoCounterStore implements CounterStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async increment(
    key: string,
    expiresAt: number,
    by = 1,
  ): Promise<{ count: number; updatedAt: number }> {
    const now = Date.now();
    const { Attributes } = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { key },
        UpdateExpression:
          'ADD #count :by SET updatedAt = :now, expiresAt = if_not_exists(expiresAt, :expires)',
        ExpressionAttributeNames: { '#count': 'count' },
        ExpressionAttributeValues: { ':by': by, ':now': now, ':expires': toTtl(expiresAt) },
        ReturnValues: 'ALL_NEW',
      }),
    );
    // A window that expired but was not yet deleted by TTL starts over.
    if (!isLive(Attributes, now)) {
      await this.reset(key);
      return this.increment(key, expiresAt, by);
    }
    return { count: Attributes!.count as number, updatedAt: now };
  }

  async addWithin(
    key: string,
    amount: number,
    max: number,
    expiresAt: number,
  ): Promise<{ added: boolean; total: number }> {
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { key },
          UpdateExpression: 'ADD #count :amount SET expiresAt = if_not_exists(expiresAt, :expires)',
          ConditionExpression: 'attribute_not_exists(#count) OR #count <= :room',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: {
            ':amount': amount,
            ':room': max - amount,
            ':expires': toTtl(expiresAt),
          },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return { added: true, total: Attributes!.count as number };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const current = await this.get(key, 0);
      return { added: false, total: current?.count ?? 0 };
    }
  }

  async getAttempts(key: string, now: number): Promise<AttemptCounter | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { key }, ConsistentRead: true }),
    );
    if (!Item || !isLive(Item, now) || typeof Item.version !== 'number') return undefined;
    return {
      count: Item.count as number,
      nextAt: Item.nextAt as number,
      version: Item.version,
      expiresAt: fromTtl(Item.expiresAt as number),
    };
  }

  async swapAttempts(
    key: string,
    seen: AttemptCounter | undefined,
    next: Omit<AttemptCounter, 'version'>,
    now: number,
  ): Promise<boolean> {
    return conditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { key },
          UpdateExpression:
            'SET #count = :count, nextAt = :nextAt, expiresAt = :expires, version = :version',
          // Absent, expired (TTL deletes late) or a counter of the old kind, or exactly as read.
          ConditionExpression: seen
            ? 'version = :seen'
            : 'attribute_not_exists(version) OR expiresAt <= :now',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: {
            ':count': next.count,
            ':nextAt': next.nextAt,
            ':expires': toTtl(next.expiresAt),
            ':version': (seen?.version ?? 0) + 1,
            ...(seen ? { ':seen': seen.version } : { ':now': toTtl(now) }),
          },
        }),
      ),
    );
  }

  async releaseAttempt(key: string): Promise<void> {
    await conditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { key },
          UpdateExpression: 'ADD #count :minusOne, version :one',
          ConditionExpression: '#count > :zero',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: { ':minusOne': -1, ':one': 1, ':zero': 0 },
        }),
      ),
    );
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
}
