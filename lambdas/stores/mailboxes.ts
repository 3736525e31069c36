/**
 * Mailboxes: one item per user holding its live connections (one top-level attribute
 * `c#<connectionId>` each, so adding one needs no map to exist yet) and its inbox counter `seq`.
 * Deliveries read them with GetItem/BatchGetItem (100 keys a call); every call here is made per
 * recipient, so this store runs on the low-level client with its middleware cached
 * (lambdas/runtime/aws.ts dynamoLowLevel).
 */
import {
  BatchGetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { conditionHolds, isConditionFailure, readInBatches, toAttributes } from './dynamo-common';
import { S, type TableDefinition } from './table-definition';

/**
 * One mailbox per user: its live connection ids (with their device) and its inbox counter, read
 * with GetItem/BatchGetItem to deliver.
 */
export const mailboxesTable = {
  envVar: 'TABLE_MAILBOXES',
  partitionKey: S('userId'),
} as const satisfies TableDefinition;

/** A live connection as a user's mailbox lists it. */
export interface MailboxConnection {
  readonly connectionId: string;
  readonly deviceId: string;
  readonly connectedAt: number;
  readonly expiresAt: number;
}

/** One item per user: its live connections and its inbox counter. */
export interface MailboxStore {
  /** The new user's mailbox (at signup): no connections, the inbox counter at 0. */
  create(userId: string): Promise<void>;
  /** The mailbox of a user without one (a user made before mailboxes), made on first use; no-op when it exists. */
  ensure(userId: string): Promise<void>;
  /** Records a connection; returns every connection listed afterwards (expired ones too), oldest first. */
  addConnection(userId: string, connection: MailboxConnection): Promise<MailboxConnection[]>;
  removeConnections(userId: string, connectionIds: readonly string[]): Promise<void>;
  /** Live connections of many users (BatchGetItem, 100 keys a call); users without a mailbox are absent. */
  connectionsOf(userIds: readonly string[], now: number): Promise<Map<string, MailboxConnection[]>>;
  /** The user's next inbox number (an atomic counter); undefined when the user has no mailbox. */
  takeInboxSeq(userId: string): Promise<number | undefined>;
}

const CONNECTION_PREFIX = 'c#';
const connectionAttribute = (connectionId: string) => `${CONNECTION_PREFIX}${connectionId}`;

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
  ) {}

  async create(userId: string): Promise<void> {
    await this.putNew(userId, 0);
  }

  async ensure(userId: string): Promise<void> {
    await this.putNew(userId, 0);
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
