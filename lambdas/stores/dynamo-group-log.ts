/**
 * Group logs in DynamoDB (table `groupLog`, key groupId + seq): each group message, epoch, join
 * and leave is written once, at a number the group item's counter gave it; nothing is written per
 * member. A message's (group, sender, message id) is claimed in the counters table, so a retry
 * writes nothing twice (lambdas/stores/claimed-append.ts). Runs on the low-level client with its
 * middleware cached, like the other stores on the delivery path.
 */
import { PutItemCommand, QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { appendClaimed, MessageClaim } from './claimed-append';
import { conditionHolds, fromTtl, isLive, itemExists, toAttributes, toTtl } from './dynamo-common';
import { RETENTION_MS } from './dynamo-inbox';
import type { GroupLogEntry, GroupLogStore, NewLogEntry, NewMessageEntry } from './group-ports';
import type { Appended } from './ports';

const claimKey = (groupId: string, from: string, messageId: string) =>
  `gmsg#${groupId}#${from}#${messageId}`;

export class DynamoGroupLogStore implements GroupLogStore {
  constructor(
    private readonly db: DynamoDBClient,
    private readonly logTable: string,
    /** Resolved only for messages (their claims): notices need no counters table. */
    private readonly countersTable: () => string,
  ) {}

  async appendMessage(seq: number, message: NewMessageEntry, now: number): Promise<Appended> {
    const expiresAt = toTtl(now + RETENTION_MS);
    // Read after the number was taken, as lambdas/core/stream-walk.ts relies on.
    const storedAt = Date.now();
    const { groupId, from, messageId, sentAt } = message;
    const put = (item: Record<string, unknown>) =>
      this.db.send(new PutItemCommand({ TableName: this.logTable, Item: toAttributes(item) }));
    return appendClaimed(
      seq,
      new MessageClaim(this.db, this.countersTable(), claimKey(groupId, from, messageId)),
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
