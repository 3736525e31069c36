/**
 * The inbox: per-user items ordered by a number taken from the user's mailbox counter. A claim per
 * (recipient, sender, message id) makes a retry idempotent (lambdas/stores/claimed-append.ts). Every call
 * here is made per recipient, so this store runs on the low-level client with its middleware
 * cached (lambdas/runtime/aws.ts dynamoLowLevel).
 */
import {
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { RETENTION_DAYS } from '../../infra/resources';
import { appendClaimed, MessageClaim } from './claimed-append';
import { conditionHolds, fromTtl, isLive, itemExists, toAttributes, toTtl } from './dynamo-common';
import type { Appended, InboxItem, InboxStore, NewInboxItem } from './ports';

export const RETENTION_MS = RETENTION_DAYS * 24 * 60 * 60 * 1000;

/** A message id is the sender's: two senders may use the same one for the same recipient. */
const claimKey = (userId: string, from: string, messageId: string) =>
  `msg#${userId}#${from}#${messageId}`;
const droppedKey = (userId: string, from: string, messageId: string) =>
  `dropped#${userId}#${from}#${messageId}`;

/** Kinds from before group logs (group pointers, key-shares) are numbers the device passes over. */
const CURRENT_KINDS = new Set(['message', 'receipt', 'skipped']);

function fromItem(attributes: Record<string, unknown>): InboxItem {
  const item = { ...attributes, expiresAt: fromTtl(attributes.expiresAt as number) } as InboxItem;
  return CURRENT_KINDS.has(item.kind) ? item : { ...item, kind: 'skipped' };
}

export class DynamoInboxStore implements InboxStore {
  constructor(
    private readonly db: DynamoDBClient,
    private readonly inboxTable: string,
    private readonly countersTable: string,
  ) {}

  async appendAt(userId: string, seq: number, item: NewInboxItem, now: number): Promise<Appended> {
    const expiresAt = toTtl(now + RETENTION_MS);
    // Read after the number was taken, as lambdas/core/stream-walk.ts relies on.
    const storedAt = Date.now();
    const stored = { ...item, userId, expiresAt, storedAt };
    const { from, messageId, sentAt } = item;
    return appendClaimed(
      seq,
      new MessageClaim(this.db, this.countersTable, claimKey(userId, from, messageId)),
      {
        putEntry: (at, sentAt) => this.put({ ...stored, seq: at, sentAt }),
        putSkipped: (at) =>
          this.put({
            kind: 'skipped',
            from,
            messageId,
            sentAt,
            userId,
            seq: at,
            expiresAt,
            storedAt,
          }),
        hasEntry: (at) =>
          itemExists(this.db, this.inboxTable, { userId: { S: userId }, seq: { N: String(at) } }),
      },
      now,
      expiresAt,
    );
  }

  private async put(item: Record<string, unknown>): Promise<void> {
    await this.db.send(
      new PutItemCommand({ TableName: this.inboxTable, Item: toAttributes(item) }),
    );
  }

  async after(
    userId: string,
    after: number,
    limit: number,
    now: number,
  ): Promise<{ items: InboxItem[]; more: boolean }> {
    const { Items, LastEvaluatedKey } = await this.db.send(
      new QueryCommand({
        TableName: this.inboxTable,
        KeyConditionExpression: 'userId = :u AND seq > :after',
        ExpressionAttributeValues: toAttributes({ ':u': userId, ':after': after }),
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    const items = (Items ?? []).map((item) => unmarshall(item));
    // An expired item is absent: it reads as a number passed over.
    return {
      items: items.map((item) =>
        isLive(item, now) ? fromItem(item) : fromItem({ ...item, kind: 'skipped' }),
      ),
      more: LastEvaluatedKey !== undefined,
    };
  }

  async recordDropped(
    userId: string,
    from: string,
    messageId: string,
    now: number,
  ): Promise<boolean> {
    const first = await conditionHolds(
      this.db.send(
        new PutItemCommand({
          TableName: this.countersTable,
          Item: toAttributes({
            key: droppedKey(userId, from, messageId),
            expiresAt: toTtl(now + RETENTION_MS),
          }),
          // A marker past its retention (not yet deleted by TTL) no longer counts.
          ConditionExpression: 'attribute_not_exists(#key) OR expiresAt < :now',
          ExpressionAttributeNames: { '#key': 'key' },
          ExpressionAttributeValues: { ':now': { N: String(toTtl(now)) } },
        }),
      ),
    );
    return !first;
  }

  async markReceipted(userId: string, seq: number, now: number): Promise<boolean> {
    return conditionHolds(
      this.db.send(
        new UpdateItemCommand({
          TableName: this.inboxTable,
          Key: { userId: { S: userId }, seq: { N: String(seq) } },
          UpdateExpression: 'SET receiptAt = :now',
          ConditionExpression: 'attribute_exists(seq) AND attribute_not_exists(receiptAt)',
          ExpressionAttributeValues: { ':now': { N: String(now) } },
        }),
      ),
    );
  }
}
