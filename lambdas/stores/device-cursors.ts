/**
 * Each device's cursors and served marks for all its streams, in one item of the
 * `deviceCursors` table (key userId + deviceId), written only over the version it read (a
 * conditional put). Items from before streams hold only `seq`, the inbox cursor.
 */
import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { INBOX_STREAM } from '../../protocol/events';
import { conditionHolds, toAttributes } from './dynamo-common';
import { S, type TableDefinition } from './table-definition';

/** Each device's place in each of its streams (one item per device). */
export const deviceCursorsTable = {
  envVar: 'TABLE_DEVICE_CURSORS',
  partitionKey: S('userId'),
  sortKey: S('deviceId'),
} as const satisfies TableDefinition;

/** A device's place in each of its streams (protocol/catch-up.ts), kept in one item. */
export interface DeviceCursors {
  /** Everything up to each number is processed, per stream. */
  readonly cursors: Readonly<Record<string, number>>;
  /** The highest `through` put in a page for this device on connection `servedOn`, per stream. */
  readonly served: Readonly<Record<string, number>>;
  readonly servedOn?: string;
  /** Bumped by every write: a write is made only over the version it read. */
  readonly version: number;
}

export interface DeviceCursorStore {
  get(userId: string, deviceId: string): Promise<DeviceCursors>;
  /** Writes `next` if the stored version is still `next.version` (stored as version + 1); false when another write came first. */
  save(userId: string, deviceId: string, next: DeviceCursors): Promise<boolean>;
}

export class DynamoDeviceCursorStore implements DeviceCursorStore {
  constructor(
    private readonly db: DynamoDBClient,
    private readonly table: string,
  ) {}

  async get(userId: string, deviceId: string): Promise<DeviceCursors> {
    const { Item } = await this.db.send(
      new GetItemCommand({
        TableName: this.table,
        Key: { userId: { S: userId }, deviceId: { S: deviceId } },
        ConsistentRead: true,
      }),
    );
    const item = Item ? unmarshall(Item) : {};
    const legacyInbox = item.seq as number | undefined;
    return {
      cursors:
        (item.cursors as Record<string, number> | undefined) ??
        (legacyInbox === undefined ? {} : { [INBOX_STREAM]: legacyInbox }),
      served: (item.served as Record<string, number> | undefined) ?? {},
      servedOn: item.servedOn as string | undefined,
      version: (item.version as number | undefined) ?? 0,
    };
  }

  async save(userId: string, deviceId: string, next: DeviceCursors): Promise<boolean> {
    return conditionHolds(
      this.db.send(
        new PutItemCommand({
          TableName: this.table,
          Item: toAttributes({
            userId,
            deviceId,
            cursors: next.cursors,
            served: next.served,
            servedOn: next.servedOn,
            version: next.version + 1,
          }),
          ...(next.version === 0
            ? { ConditionExpression: 'attribute_not_exists(version)' }
            : {
                ConditionExpression: 'version = :version',
                ExpressionAttributeValues: { ':version': { N: String(next.version) } },
              }),
        }),
      ),
    );
  }
}
