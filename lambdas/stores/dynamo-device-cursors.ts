/**
 * Each device's cursors and served marks for all its streams, in one item of the counters table
 * (`cursor#<user>#<device>`), written only over the version it read (a conditional put). Items
 * from before streams hold only `seq`, the inbox cursor.
 */
import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { INBOX_STREAM } from '../../protocol/catch-up';
import { conditionHolds, toAttributes } from './dynamo-common';
import type { DeviceCursorStore, DeviceCursors } from './ports';

const cursorKey = (userId: string, deviceId: string) => `cursor#${userId}#${deviceId}`;

export class DynamoDeviceCursorStore implements DeviceCursorStore {
  constructor(
    private readonly db: DynamoDBClient,
    private readonly table: string,
  ) {}

  async get(userId: string, deviceId: string): Promise<DeviceCursors> {
    const { Item } = await this.db.send(
      new GetItemCommand({
        TableName: this.table,
        Key: { key: { S: cursorKey(userId, deviceId) } },
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
            key: cursorKey(userId, deviceId),
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
