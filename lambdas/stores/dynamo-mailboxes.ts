/**
 * Mailboxes: one item per user holding its live connections (one top-level attribute
 * `c#<connectionId>` each, so adding one needs no map to exist yet) and its inbox counter `seq`.
 * Deliveries read them with GetItem/BatchGetItem (100 keys a call); every call here is made per
 * recipient, so this store runs on the low-level client with its middleware cached
 * (lambdas/runtime/aws.ts dynamoLowLevel).
 */
import {
  BatchGetItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { conditionHolds, isConditionFailure, readInBatches, toAttributes } from './dynamo-common';
import type { MailboxConnection, MailboxStore } from './ports';

const CONNECTION_PREFIX = 'c#';
const connectionAttribute = (connectionId: string) => `${CONNECTION_PREFIX}${connectionId}`;

/** The inbox counter of a user from before mailboxes existed (lambdas/stores/dynamo-counters.ts). */
export const legacyInboxCounterKey = (userId: string) => `seq#${userId}`;

/** The connections recorded in a mailbox item, oldest first: the live ones when `now` is given. */
function connectionsIn(item: Record<string, unknown>, now?: number): MailboxConnection[] {
  return Object.entries(item)
    .filter(([name]) => name.startsWith(CONNECTION_PREFIX))
    .map(([name, value]) => ({
      ...(value as Omit<MailboxConnection, 'connectionId'>),
      connectionId: name.slice(CONNECTION_PREFIX.length),
    }))
    .filter((connection) => now === undefined || connection.expiresAt > now)
    .sort((a, b) => a.connectedAt - b.connectedAt);
}

export class DynamoMailboxStore implements MailboxStore {
  constructor(
    private readonly db: DynamoDBClient,
    private readonly table: string,
    /** Resolved only to make the mailbox of a user from before mailboxes (its old counter). */
    private readonly countersTable: () => string,
  ) {}

  async create(userId: string): Promise<void> {
    await this.putNew(userId, 0);
  }

  async ensure(userId: string): Promise<void> {
    // The inbox numbering goes on from the old per-user counter, so no number is used twice.
    const { Item } = await this.db.send(
      new GetItemCommand({
        TableName: this.countersTable(),
        Key: { key: { S: legacyInboxCounterKey(userId) } },
        ConsistentRead: true,
      }),
    );
    await this.putNew(userId, Item?.count?.N ? Number(Item.count.N) : 0);
  }

  private async putNew(userId: string, seq: number): Promise<void> {
    await conditionHolds(
      this.db.send(
        new PutItemCommand({
          TableName: this.table,
          Item: toAttributes({ userId, seq }),
          ConditionExpression: 'attribute_not_exists(userId)',
        }),
      ),
    );
  }

  async addConnection(userId: string, connection: MailboxConnection): Promise<MailboxConnection[]> {
    const { connectionId, ...entry } = connection;
    const add = () =>
      this.db.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { userId: { S: userId } },
          UpdateExpression: 'SET #c = :c',
          ConditionExpression: 'attribute_exists(userId)',
          ExpressionAttributeNames: { '#c': connectionAttribute(connectionId) },
          ExpressionAttributeValues: { ':c': { M: toAttributes(entry) } },
          ReturnValues: 'ALL_NEW',
        }),
      );
    try {
      return connectionsIn(unmarshall((await add()).Attributes!));
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      await this.ensure(userId); // a user from before mailboxes: made on first use
      return connectionsIn(unmarshall((await add()).Attributes!));
    }
  }

  async takeInboxSeq(userId: string): Promise<number | undefined> {
    try {
      const { Attributes } = await this.db.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { userId: { S: userId } },
          UpdateExpression: 'ADD seq :one',
          ConditionExpression: 'attribute_exists(userId)',
          ExpressionAttributeValues: { ':one': { N: '1' } },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(Attributes!.seq!.N);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async removeConnections(userId: string, connectionIds: readonly string[]): Promise<void> {
    if (connectionIds.length === 0) return;
    const names = Object.fromEntries(
      connectionIds.map((id, i) => [`#c${i}`, connectionAttribute(id)]),
    );
    await this.db.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: { userId: { S: userId } },
        UpdateExpression: `REMOVE ${Object.keys(names).join(', ')}`,
        ExpressionAttributeNames: names,
      }),
    );
  }

  async connectionsOf(
    userIds: readonly string[],
    now: number,
  ): Promise<Map<string, MailboxConnection[]>> {
    const found = new Map<string, MailboxConnection[]>();
    const keys = [...new Set(userIds)].map((userId) => ({ userId: { S: userId } }));
    await readInBatches<Record<string, AttributeValue>>(keys, async (batch) => {
      const { Responses, UnprocessedKeys } = await this.db.send(
        new BatchGetItemCommand({
          RequestItems: { [this.table]: { Keys: batch, ConsistentRead: true } },
        }),
      );
      for (const item of Responses?.[this.table] ?? []) {
        const mailbox = unmarshall(item);
        found.set(mailbox.userId as string, connectionsIn(mailbox, now));
      }
      return UnprocessedKeys?.[this.table]?.Keys ?? [];
    });
    return found;
  }
}
