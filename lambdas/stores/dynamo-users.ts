import {
  GetCommand,
  PutCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { PublicBundleWire } from '../../protocol/commands';
import { conditionHolds } from './dynamo-common';
import type { UserRecord, UserStore } from './ports';

export class DynamoUserStore implements UserStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async create(user: UserRecord): Promise<boolean> {
    return conditionHolds(
      this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: user,
          ConditionExpression: 'attribute_not_exists(userId)',
        }),
      ),
    );
  }

  async get(userId: string): Promise<UserRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { userId }, ConsistentRead: true }),
    );
    return Item as UserRecord | undefined;
  }

  async publishBundle(userId: string, bundle: PublicBundleWire): Promise<boolean> {
    return conditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { userId },
          UpdateExpression: 'SET bundle = :bundle',
          // First publication, or the same identity keys (prekey rotation): never a silent identity change.
          ConditionExpression:
            'attribute_exists(userId) AND (attribute_not_exists(bundle) OR (bundle.identityDh = :dh AND bundle.identitySign = :sign))',
          ExpressionAttributeValues: {
            ':bundle': bundle,
            ':dh': bundle.identityDh,
            ':sign': bundle.identitySign,
          },
        }),
      ),
    );
  }

  async putBackup(userId: string, backup: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { userId },
        UpdateExpression: 'SET #backup = :backup',
        ConditionExpression: 'attribute_exists(userId)',
        ExpressionAttributeNames: { '#backup': 'backup' }, // a reserved word
        ExpressionAttributeValues: { ':backup': backup },
      }),
    );
  }
}
