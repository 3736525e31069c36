/**
 * The inbox: per-user items ordered by a server-assigned sequence number (an atomic counter per
 * user). A marker per (recipient, message id) makes a retry idempotent: the retry finds the
 * first attempt's seq and rewrites the same item, so a crash between steps loses nothing.
 */
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RETENTION_DAYS } from '../../infra/resources';
import { ATTEMPT_MAX_MS } from '../core/cursor';
import { fromTtl, isLive, nextInboxSeq, toTtl, conditionHolds } from './dynamo-common';
import type { InboxItem, InboxStore, NewInboxItem } from './ports';

export const RETENTION_MS = RETENTION_DAYS * 24 * 60 * 60 * 1000;

/** A message id is the sender's: two senders may use the same one for the same recipient. */
const markerKey = (userId: string, from: string, messageId: string) =>
  `msg#${userId}#${from}#${messageId}`;
const droppedKey = (userId: string, from: string, messageId: string) =>
  `dropped#${userId}#${from}#${messageId}`;

export class DynamoInboxStore implements InboxStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    /** Takes the sequence numbers: the per-recipient call of lambdas/runtime/aws.ts dynamoLowLevel. */
    private readonly counterDb: DynamoDBClient,
    private readonly inboxTable: string,
    private readonly countersTable: string,
  ) {}

  /**
   * Takes the user's next number, then writes the item there while claiming (user, message id)
   * for that number with a conditional marker, both at once: the common, first attempt costs
   * three writes in two round trips and no read. A retry loses the claim: it rewrites the first
   * attempt's item (in case that attempt died before writing it) and turns its own into a
   * skipped number, which a catch-up in between may have pushed once (clients drop duplicates).
   * If the first attempt died without its item long enough ago that a cursor may have crossed
   * its number, the retry keeps its own number instead and moves the claim there.
   */
  async append(
    userId: string,
    item: NewInboxItem,
    now: number,
  ): Promise<{ seq: number; duplicate: boolean }> {
    const expiresAt = toTtl(now + RETENTION_MS);
    const seq = await nextInboxSeq(this.counterDb, this.countersTable, userId);
    // Read after the number was allocated, as lambdas/core/cursor.ts relies on.
    const storedAt = Date.now();
    const stored = { ...item, userId, expiresAt, storedAt };
    const [claimed] = await Promise.all([
      this.claim(userId, item.from, item.messageId, seq, expiresAt, now),
      this.put({ ...stored, seq }),
    ]);
    if (claimed) return { seq, duplicate: false };
    const kept = await this.numberAfterLostClaim(userId, item.from, item.messageId, seq, now);
    if (kept === seq) return { seq, duplicate: false };
    const { from, messageId, sentAt } = item;
    await Promise.all([
      this.put({ ...stored, seq: kept }),
      this.put({ kind: 'skipped', from, messageId, sentAt, userId, seq, expiresAt, storedAt }),
    ]);
    return { seq: kept, duplicate: true };
  }

  /**
   * The number a message id keeps when this attempt (at `seq`) lost the claim: the claimed one,
   * unless its attempt died before storing the item more than ATTEMPT_MAX_MS ago. Then the claim
   * moves to `seq` (already written), one conditional write deciding between late retries.
   */
  private async numberAfterLostClaim(
    userId: string,
    from: string,
    messageId: string,
    seq: number,
    now: number,
  ): Promise<number> {
    const marker = markerKey(userId, from, messageId);
    const claim = await this.claimOf(marker);
    const abandoned =
      now - (claim.claimedAt ?? 0) > ATTEMPT_MAX_MS && !(await this.hasItem(userId, claim.seq));
    if (!abandoned) return claim.seq;
    if (await this.moveClaim(marker, claim.seq, seq, now)) return seq;
    return (await this.claimOf(marker)).seq;
  }

  private async put(Item: Record<string, unknown>): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.inboxTable, Item }));
  }

  /** False when an earlier attempt of this message id holds the claim. */
  private async claim(
    userId: string,
    from: string,
    messageId: string,
    seq: number,
    expiresAt: number,
    now: number,
  ): Promise<boolean> {
    return this.putMarker(
      { key: markerKey(userId, from, messageId), seq, claimedAt: now, expiresAt },
      now,
    );
  }

  /** False when a live marker of that key exists. */
  private async putMarker(Item: Record<string, unknown>, now: number): Promise<boolean> {
    return conditionHolds(
      this.db.send(
        new PutCommand({
          TableName: this.countersTable,
          Item,
          // A marker past its retention (not yet deleted by TTL) no longer counts.
          ConditionExpression: 'attribute_not_exists(#key) OR expiresAt < :now',
          ExpressionAttributeNames: { '#key': 'key' },
          ExpressionAttributeValues: { ':now': toTtl(now) },
        }),
      ),
    );
  }

  private async claimOf(marker: string): Promise<{ seq: number; claimedAt?: number }> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.countersTable,
        Key: { key: marker },
        ConsistentRead: true,
      }),
    );
    // Markers from before `claimedAt` existed have none: they count as old.
    return { seq: Item!.seq as number, claimedAt: Item!.claimedAt as number | undefined };
  }

  private async hasItem(userId: string, seq: number): Promise<boolean> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.inboxTable, Key: { userId, seq }, ConsistentRead: true }),
    );
    return Item !== undefined;
  }

  /** False when another attempt moved the claim first. */
  private async moveClaim(marker: string, from: number, to: number, now: number): Promise<boolean> {
    return conditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.countersTable,
          Key: { key: marker },
          UpdateExpression: 'SET seq = :to, claimedAt = :now',
          ConditionExpression: 'seq = :from',
          ExpressionAttributeValues: { ':from': from, ':to': to, ':now': now },
        }),
      ),
    );
  }

  async recordDropped(
    userId: string,
    from: string,
    messageId: string,
    now: number,
  ): Promise<boolean> {
    const expiresAt = toTtl(now + RETENTION_MS);
    const first = await this.putMarker(
      { key: droppedKey(userId, from, messageId), expiresAt },
      now,
    );
    return !first;
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
