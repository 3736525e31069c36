import {
  GetCommand,
  PutCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { PublicBundleWire } from '../../protocol/commands';
import { batchGetDocuments, conditionHolds, isConditionFailure } from './dynamo-common';
import type { BackupOutcome, PublishOutcome, StoredBackup, UserRecord, UserStore } from './ports';

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
    if (!Item) return undefined;
    // The block list is a string set (absent when empty).
    const blocked = Item.blocked as Set<string> | undefined;
    return { ...(Item as UserRecord), blocked: blocked ? [...blocked].sort() : [] };
  }

  async bundlesOf(userIds: readonly string[]): Promise<Map<string, PublicBundleWire>> {
    const items = await batchGetDocuments(
      this.db,
      this.table,
      [...new Set(userIds)].map((userId) => ({ userId })),
      'userId, bundle',
    );
    return new Map(
      items
        .filter((item) => item.bundle)
        .map((item) => [item.userId as string, item.bundle as PublicBundleWire]),
    );
  }

  async blockersOf(userIds: readonly string[], blockedId: string): Promise<Set<string>> {
    const items = await batchGetDocuments(
      this.db,
      this.table,
      [...new Set(userIds)].map((userId) => ({ userId })),
      'userId, blocked',
    );
    return new Set(
      items
        .filter((item) => (item.blocked as Set<string> | undefined)?.has(blockedId))
        .map((item) => item.userId as string),
    );
  }

  async publishBundle(userId: string, bundle: PublicBundleWire): Promise<PublishOutcome> {
    const published = await conditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { userId },
          UpdateExpression: 'SET bundle = :bundle',
          // First publication; or the same identity keys with a newer signed prekey (rotation),
          // or the very same prekey again (a retry).
          ConditionExpression:
            'attribute_exists(userId) AND (attribute_not_exists(bundle) OR ' +
            '(bundle.identityDh = :dh AND bundle.identitySign = :sign AND ' +
            '(bundle.signedPrekey.createdAt < :created OR ' +
            '(bundle.signedPrekey.id = :prekeyId AND bundle.signedPrekey.publicKey = :prekey))))',
          ExpressionAttributeValues: {
            ':bundle': bundle,
            ':dh': bundle.identityDh,
            ':sign': bundle.identitySign,
            ':created': bundle.signedPrekey.createdAt,
            ':prekeyId': bundle.signedPrekey.id,
            ':prekey': bundle.signedPrekey.publicKey,
          },
        }),
      ),
    );
    if (published) return 'published';
    const stored = (await this.get(userId))?.bundle;
    const sameIdentity =
      stored?.identityDh === bundle.identityDh && stored.identitySign === bundle.identitySign;
    return sameIdentity ? 'prekey-not-newer' : 'identity-differs';
  }

  async putBackup(
    userId: string,
    backup: StoredBackup,
    version: number,
    replaces: number,
  ): Promise<BackupOutcome> {
    // One of the two forms at a time: writing one removes the other.
    const set =
      'inline' in backup
        ? 'SET #backup = :backup, backupVersion = :version REMOVE backupBlob'
        : 'SET backupBlob = :backup, backupVersion = :version REMOVE #backup';
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { userId },
          UpdateExpression: set,
          // A backup stored before versions existed counts as version 0.
          ConditionExpression:
            replaces === 0
              ? 'attribute_exists(userId) AND (attribute_not_exists(backupVersion) OR backupVersion = :replaces)'
              : 'backupVersion = :replaces',
          ExpressionAttributeNames: { '#backup': 'backup' }, // a reserved word
          ExpressionAttributeValues: {
            ':backup': 'inline' in backup ? backup.inline : backup.blob,
            ':version': version,
            ':replaces': replaces,
          },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const replacedBlob = (Attributes as Partial<UserRecord> | undefined)?.backupBlob;
      return { stored: true, ...(replacedBlob && { replacedBlob }) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    return { stored: false, currentVersion: (await this.get(userId))?.backupVersion ?? 0 };
  }

  async changeAuthKey(
    userId: string,
    expectedHash: string,
    next: { authSalt: string; authHash: string },
  ): Promise<boolean> {
    return conditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { userId },
          UpdateExpression: 'SET authSalt = :salt, authHash = :hash',
          ConditionExpression: 'authHash = :expected',
          ExpressionAttributeValues: {
            ':salt': next.authSalt,
            ':hash': next.authHash,
            ':expected': expectedHash,
          },
        }),
      ),
    );
  }

  async block(userId: string, blockedId: string, max: number): Promise<boolean> {
    return conditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { userId },
          UpdateExpression: 'ADD blocked :one',
          ConditionExpression:
            'attribute_exists(userId) AND (attribute_not_exists(blocked) OR size(blocked) < :max OR contains(blocked, :id))',
          ExpressionAttributeValues: {
            ':one': new Set([blockedId]),
            ':max': max,
            ':id': blockedId,
          },
        }),
      ),
    );
  }

  async unblock(userId: string, blockedId: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { userId },
        UpdateExpression: 'DELETE blocked :one',
        ConditionExpression: 'attribute_exists(userId)',
        ExpressionAttributeValues: { ':one': new Set([blockedId]) },
      }),
    );
  }
}
