/**
 * The `blobs` table: one `meta` item per blob (pk blobId, sk 'meta') and one `grant#<userId>` item
 * per reader, all expiring with the blob. Grants for a group go out with BatchWriteItem (25 per
 * call, unprocessed items retried with backoff).
 */
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { batchPut, fromTtl, isLive, toTtl, conditionHolds } from './dynamo-common';
import type { BlobGrant, BlobRecord, BlobStore } from './blob-ports';

const META = 'meta';
const grantKey = (userId: string) => `grant#${userId}`;

export class DynamoBlobStore implements BlobStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    /** Writes a group's grants with batchPut, which takes the low-level client. */
    private readonly batchDb: DynamoDBClient,
    private readonly table: string,
  ) {}

  async create(blob: BlobRecord): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...blob, sk: META, expiresAt: toTtl(blob.expiresAt) },
        ConditionExpression: 'attribute_not_exists(blobId)',
      }),
    );
  }

  async get(blobId: string, now: number): Promise<BlobRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { blobId, sk: META }, ConsistentRead: true }),
    );
    if (!Item || !isLive(Item, now)) return undefined;
    const { sk: _sk, ...record } = Item;
    return { ...(record as BlobRecord), expiresAt: fromTtl(Item.expiresAt as number) };
  }

  async markCompleted(blobId: string, completedAt: number): Promise<boolean> {
    return conditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { blobId, sk: META },
          UpdateExpression: 'SET #state = :completed, completedAt = :at',
          ConditionExpression: '#state = :uploading',
          ExpressionAttributeNames: { '#state': 'state' }, // a reserved word
          ExpressionAttributeValues: {
            ':completed': 'completed',
            ':uploading': 'uploading',
            ':at': completedAt,
          },
        }),
      ),
    );
  }

  async remove(blobId: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: { blobId, sk: META } }));
  }

  async grant(blobId: string, userIds: readonly string[], grant: BlobGrant): Promise<void> {
    const items = [...new Set(userIds)].map((userId) => ({
      blobId,
      sk: grantKey(userId),
      userId,
      grantedBy: grant.grantedBy,
      messageId: grant.messageId,
      expiresAt: toTtl(grant.expiresAt),
    }));
    await batchPut(this.batchDb, this.table, items);
  }

  async hasGrant(blobId: string, userId: string, now: number): Promise<boolean> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { blobId, sk: grantKey(userId) },
        ConsistentRead: true,
      }),
    );
    return isLive(Item, now);
  }
}
