/**
 * The inbox: per-user items ordered by a server-assigned sequence number (an atomic counter per
 * user). A marker per (recipient, message id) makes a retry idempotent: the retry finds the
 * first attempt's seq and rewrites the same item, so a crash between steps loses nothing.
 */
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { RETENTION_DAYS } from '../../infra/resources';
import { fromTtl, isConditionFailure, isLive, nextInboxSeq, toTtl } from './dynamo-common';
import type { InboxItem, InboxStore, NewInboxItem } from './ports';

export const RETENTION_MS = RETENTION_DAYS * 24 * 60 * 60 * 1000;

export class DynamoInboxStore implements InboxStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly inboxTable: string,
    private readonly countersTable: string,
  ) {}

  async append(
    userId: string,
    item: NewInboxItem,
    now: number,
  ): Promise<{ seq: number; duplicate: boolean }> {
    const expiresAt = toTtl(now + RETENTION_MS);
    const { seq, duplicate, unused } = await this.reserveSeq(
      userId,
      item.messageId,
      expiresAt,
      now,
    );
    // Read after the number was allocated, as lambdas/core/cursor.ts relies on.
    const storedAt = Date.now();
    const put = (Item: Record<string, unknown>) =>
      this.db.send(new PutCommand({ TableName: this.inboxTable, Item }));
    const { from, messageId, sentAt } = item;
    await Promise.all([
      put({ ...item, userId, seq, expiresAt, storedAt }),
      unused !== undefined &&
        put({ kind: 'skipped', from, messageId, sentAt, userId, seq: unused, expiresAt, storedAt }),
    ]);
    return { seq, duplicate };
  }

  /**
   * The next sequence number, claimed for (user, message id) by a conditional marker write. A
   * retry loses the claim and takes the first attempt's number; its own is `unused` (stored as
   * skipped), so the common, first attempt costs two writes and no read.
   */
  private async reserveSeq(
    userId: string,
    messageId: string,
    expiresAt: number,
    now: number,
  ): Promise<{ seq: number; duplicate: boolean; unused?: number }> {
    const markerKey = `msg#${userId}#${messageId}`;
    const seq = await nextInboxSeq(this.db, this.countersTable, userId);
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.countersTable,
          Item: { key: markerKey, seq, expiresAt },
          // A marker past its retention (not yet deleted by TTL) no longer counts.
          ConditionExpression: 'attribute_not_exists(#key) OR expiresAt < :now',
          ExpressionAttributeNames: { '#key': 'key' },
          ExpressionAttributeValues: { ':now': toTtl(now) },
        }),
      );
      return { seq, duplicate: false };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const first = await this.db.send(
        new GetCommand({
          TableName: this.countersTable,
          Key: { key: markerKey },
          ConsistentRead: true,
        }),
      );
      return { seq: first.Item!.seq as number, duplicate: true, unused: seq };
    }
  }

  async after(userId: string, after: number, limit: number, now: number): Promise<InboxItem[]> {
    const { Items } = await this.db.send(
      new QueryCommand({
        TableName: this.inboxTable,
        KeyConditionExpression: 'userId = :u AND seq > :after',
        ExpressionAttributeValues: { ':u': userId, ':after': after },
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    return (Items ?? [])
      .filter((item) => isLive(item, now))
      .map((item) => ({ ...(item as InboxItem), expiresAt: fromTtl(item.expiresAt as number) }));
  }

  async countAfter(userId: string, after: number, now: number): Promise<number> {
    let count = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.inboxTable,
          KeyConditionExpression: 'userId = :u AND seq > :after',
          FilterExpression: 'expiresAt > :now AND #kind <> :skipped',
          ExpressionAttributeNames: { '#kind': 'kind' },
          ExpressionAttributeValues: {
            ':u': userId,
            ':after': after,
            ':now': toTtl(now),
            ':skipped': 'skipped',
          },
          Select: 'COUNT',
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      count += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
    return count;
  }
}
