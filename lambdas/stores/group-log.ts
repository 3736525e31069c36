/**
 * Group logs in DynamoDB (table `groupLog`, key groupId + seq): each group message, epoch, join
 * and leave is written once, at a number the group item's counter gave it; nothing is written per
 * member. A message's (group, sender, message id) is claimed in the `messageClaims` table, so a retry
 * writes nothing twice (./message-claims.ts). Runs on the low-level client with its
 * middleware cached, like the other stores on the delivery path.
 */
import { PutItemCommand, QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { RETENTION_MS } from '../../protocol/limits';
import { conditionHolds, fromTtl, isLive, itemExists, toAttributes, toTtl } from './dynamo-common';
import { appendClaimed, claimKeys, MessageClaim, type Appended } from './message-claims';
import { N, S, type TableDefinition } from './table-definition';

/** One log per group with its own sequence: messages, epochs, joins, leaves (fan-out on read). */
export const groupLogTable = {
  envVar: 'TABLE_GROUP_LOG',
  partitionKey: S('groupId'),
  sortKey: N('seq'),
  ttlAttribute: 'expiresAt',
} as const satisfies TableDefinition;

/** An entry of a group's log, as a page reads it. */
interface LogEntryBase {
  readonly groupId: string;
  readonly seq: number;
  readonly messageId: string;
  readonly sentAt: number;
  /** When the entry was written, after its number was taken (lambdas/shared/stream-walk.ts). */
  readonly storedAt: number;
}
export interface MessageLogEntry extends LogEntryBase {
  readonly kind: 'message';
  readonly from: string;
  readonly epoch: number;
  readonly envelope: string;
}
/** An epoch became current: readers get it with their own key-share. */
export interface EpochLogEntry extends LogEntryBase {
  readonly kind: 'epoch';
  readonly from: string;
  readonly epoch: number;
  readonly statement: string;
  /** Its hash (base64): only key-shares made for it are served with it. */
  readonly statementHash?: string;
}
export interface MembershipLogEntry extends LogEntryBase {
  readonly kind: 'member-joined' | 'member-left';
  readonly userId: string;
  readonly memberCount: number;
  readonly epoch: number;
}
/** A number a retry took and did not use (claim and skip). */
export interface SkippedLogEntry extends LogEntryBase {
  readonly kind: 'skipped';
}
export type GroupLogEntry = MessageLogEntry | EpochLogEntry | MembershipLogEntry | SkippedLogEntry;

type NewEntry<T> = T extends GroupLogEntry ? Omit<T, 'seq' | 'storedAt'> : never;
export type NewLogEntry = NewEntry<GroupLogEntry>;
export type NewMessageEntry = NewEntry<MessageLogEntry>;

/** One log per group, numbered by the group item's counter; entries expire after the retention. */
export interface GroupLogStore {
  /**
   * Writes a message at `seq` (just taken from the group item) unless (group, sender, message id)
   * was taken before (claim and skip, ./message-claims.ts).
   */
  appendMessage(seq: number, message: NewMessageEntry, now: number): Promise<Appended>;
  /** Writes a notice, an epoch or a skipped number at `seq` unless an entry is there already (then false). */
  putEntry(seq: number, entry: NewLogEntry, now: number): Promise<boolean>;
  /** Entries with `after` < seq ≤ `until` (no upper bound when absent), ascending, at most `limit`. */
  entries(
    groupId: string,
    after: number,
    until: number | undefined,
    limit: number,
    now: number,
  ): Promise<{ items: GroupLogEntry[]; more: boolean }>;
}

export class DynamoGroupLogStore implements GroupLogStore {
  constructor(
    private readonly db: DynamoDBClient,
    private readonly logTable: string,
    /** Resolved only for messages (their claims): notices need no claims table. */
    private readonly claimsTable: () => string,
  ) {}

  async appendMessage(seq: number, message: NewMessageEntry, now: number): Promise<Appended> {
    const expiresAt = toTtl(now + RETENTION_MS);
    // Read after the number was taken, as lambdas/shared/stream-walk.ts relies on.
    const storedAt = Date.now();
    const { groupId, from, messageId, sentAt } = message;
    const put = (item: Record<string, unknown>) =>
      this.db.send(new PutItemCommand({ TableName: this.logTable, Item: toAttributes(item) }));
    return appendClaimed(
      seq,
      new MessageClaim(this.db, this.claimsTable(), claimKeys.groupLog(groupId, from, messageId)),
      {
        putEntry: async (at, sentAt) => {
          await put({ ...message, sentAt, seq: at, storedAt, expiresAt });
        },
        putSkipped: async (at) => {
          await put({ kind: 'skipped', groupId, messageId, sentAt, seq: at, storedAt, expiresAt });
        },
        hasEntry: (at) =>
          itemExists(this.db, this.logTable, { groupId: { S: groupId }, seq: { N: String(at) } }),
      },
      now,
      expiresAt,
    );
  }

  async putEntry(seq: number, entry: NewLogEntry, now: number): Promise<boolean> {
    return conditionHolds(
      this.db.send(
        new PutItemCommand({
          TableName: this.logTable,
          Item: toAttributes({
            ...entry,
            seq,
            storedAt: Date.now(),
            expiresAt: toTtl(now + RETENTION_MS),
          }),
          ConditionExpression: 'attribute_not_exists(seq)',
        }),
      ),
    );
  }

  async entries(
    groupId: string,
    after: number,
    until: number | undefined,
    limit: number,
    now: number,
  ): Promise<{ items: GroupLogEntry[]; more: boolean }> {
    const bounded = until !== undefined;
    if (bounded && until <= after) return { items: [], more: false };
    const { Items, LastEvaluatedKey } = await this.db.send(
      new QueryCommand({
        TableName: this.logTable,
        KeyConditionExpression: bounded
          ? 'groupId = :g AND seq BETWEEN :from AND :until'
          : 'groupId = :g AND seq > :after',
        ExpressionAttributeValues: toAttributes(
          bounded
            ? { ':g': groupId, ':from': after + 1, ':until': until }
            : { ':g': groupId, ':after': after },
        ),
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    const items = (Items ?? []).map((item) => unmarshall(item));
    return {
      // An expired entry is absent: it reads as a number passed over.
      items: items.map((item) => {
        const entry = { ...item, expiresAt: fromTtl(item.expiresAt as number) };
        return (isLive(item, now)
          ? entry
          : { ...entry, kind: 'skipped' }) as unknown as GroupLogEntry;
      }),
      more: LastEvaluatedKey !== undefined,
    };
  }
}
