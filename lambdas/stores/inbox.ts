/**
 * The inbox: per-user items ordered by a number taken from the user's mailbox counter. A claim per
 * (recipient, sender, message id) makes a retry idempotent (./message-claims.ts). Every call
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
import { RETENTION_MS } from '../../protocol/limits';
import { conditionHolds, fromTtl, isLive, itemExists, toAttributes, toTtl } from './dynamo-common';
import { appendClaimed, claimKeys, MessageClaim, type Appended } from './message-claims';
import { N, S, type TableDefinition } from './table-definition';

/** Per-user inbox with a server-assigned sequence number; items expire after the retention. */
export const inboxTable = {
  envVar: 'TABLE_INBOX',
  partitionKey: S('userId'),
  sortKey: N('seq'),
  ttlAttribute: 'expiresAt',
} as const satisfies TableDefinition;

interface InboxItemBase {
  readonly userId: string;
  readonly seq: number;
  readonly from: string;
  readonly messageId: string;
  readonly sentAt: number;
  readonly expiresAt: number;
  /**
   * When the store wrote the item, taken after its number was allocated: it bounds when every
   * lower number was allocated (lambdas/shared/stream-walk.ts). Absent on items stored before it existed.
   */
  readonly storedAt?: number;
}

/** A 1:1 envelope; `receiptAt` once a device of the recipient acknowledged it (receipt sent). */
export interface DirectInboxItem extends InboxItemBase {
  readonly kind: 'message';
  readonly envelope: string;
  readonly receiptAt?: number;
}

/** The server's word that `from`, the recipient, has received this user's message `ofMessageId`. */
export interface ReceiptInboxItem extends InboxItemBase {
  readonly kind: 'receipt';
  readonly ofMessageId: string;
}

/**
 * A number an attempt took but did not use (it lost to a retry or a racing attempt of the same
 * message): stored so that cursors move over it at once instead of waiting for it to settle.
 */
export interface SkippedInboxItem extends InboxItemBase {
  readonly kind: 'skipped';
}

/** Inbox items of kinds from before group logs (group pointers, key-shares) read as skipped. */
export type InboxItem = DirectInboxItem | ReceiptInboxItem | SkippedInboxItem;

type NewItem<T> = T extends InboxItem
  ? Omit<T, 'seq' | 'userId' | 'expiresAt' | 'storedAt' | 'receiptAt'>
  : never;
export type NewInboxItem = NewItem<InboxItem>;
export type NewDirectInboxItem = NewItem<DirectInboxItem>;

export interface InboxStore {
  /**
   * Writes the item at `seq`, a number just taken from the user's mailbox, unless its message id
   * was taken before (./message-claims.ts): answers the number the message keeps.
   */
  appendAt(userId: string, seq: number, item: NewInboxItem, now: number): Promise<Appended>;
  /** Items with seq > `after`, ascending, at most `limit`; `more` when the read stopped at the limit. */
  after(
    userId: string,
    after: number,
    limit: number,
    now: number,
  ): Promise<{ items: InboxItem[]; more: boolean }>;
  /** Marks a 1:1 message as receipted (conditional): false when a device did so before. */
  markReceipted(userId: string, seq: number, now: number): Promise<boolean>;
  /**
   * Records a message dropped for a block, without a number or an item: true when this sender
   * already sent this message id (so a retry answers `duplicate` as an accepted one would).
   */
  recordDropped(userId: string, from: string, messageId: string, now: number): Promise<boolean>;
}

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
    /**
     * The claims of its messages and the dropped markers (./message-claims.ts); resolved only to
     * append or drop, so a route that only reads pages needs no claims table.
     */
    private readonly claimsTable: () => string,
  ) {}

  async appendAt(userId: string, seq: number, item: NewInboxItem, now: number): Promise<Appended> {
    const expiresAt = toTtl(now + RETENTION_MS);
    // Read after the number was taken, as lambdas/shared/stream-walk.ts relies on.
    const storedAt = Date.now();
    const stored = { ...item, userId, expiresAt, storedAt };
    const { from, messageId, sentAt } = item;
    return appendClaimed(
      seq,
      new MessageClaim(this.db, this.claimsTable(), claimKeys.inbox(userId, from, messageId)),
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
          TableName: this.claimsTable(),
          Item: toAttributes({
            key: claimKeys.dropped(userId, from, messageId),
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
