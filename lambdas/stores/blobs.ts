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
import { S, type TableDefinition } from './table-definition';

/** Uploaded blobs: owner, size, parts, and who may read them. */
export const blobsTable = {
  envVar: 'TABLE_BLOBS',
  partitionKey: S('blobId'),
  sortKey: S('sk'),
  ttlAttribute: 'expiresAt',
} as const satisfies TableDefinition;

export type BlobState = 'uploading' | 'completed';

export interface BlobRecord {
  readonly blobId: string;
  /** The uploader: the only user who may sign part URLs, complete, or send the blob. */
  readonly owner: string;
  readonly size: number;
  readonly partSize: number;
  readonly partCount: number;
  /** S3's multipart upload id; absent for a single-PUT blob. */
  readonly uploadId?: string;
  readonly state: BlobState;
  readonly createdAt: number;
  readonly completedAt?: number;
  /** The record, its grants and (by the bucket's lifecycle rule) its bytes are gone after this. */
  readonly expiresAt: number;
}

export interface BlobGrant {
  readonly grantedBy: string;
  /** The file message that granted it. */
  readonly messageId: string;
  /** A grant never outlives its blob. */
  readonly expiresAt: number;
}

export interface BlobStore {
  /** Records a new blob; its id is random, so a clash is a bug (throws). */
  create(blob: BlobRecord): Promise<void>;
  /** The live record, or undefined when unknown or expired. */
  get(blobId: string, now: number): Promise<BlobRecord | undefined>;
  /** uploading → completed; false when it was not uploading (already completed or gone). */
  markCompleted(blobId: string, completedAt: number): Promise<boolean>;
  /** Forgets an upload whose bytes turned out wrong. */
  remove(blobId: string): Promise<void>;
  /** Lets these users read the blob (idempotent; batched for groups). */
  grant(blobId: string, userIds: readonly string[], grant: BlobGrant): Promise<void>;
  hasGrant(blobId: string, userId: string, now: number): Promise<boolean>;
}

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
