/**
 * Accounts: one item per user (table `users`, key userId) with the scrypt hash of its auth key,
 * its published key bundle, its sealed key backup and its block list.
 */
import {
  GetCommand,
  PutCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { BackupBlobRef, PublicBundleWire } from '../../protocol/commands';
import { batchGetDocuments, conditionHolds, isConditionFailure } from './dynamo-common';
import { S, type TableDefinition } from './table-definition';

/** One item per account: the scrypt hash of the auth key, public key bundle, encrypted key backup. */
export const usersTable = {
  envVar: 'TABLE_USERS',
  partitionKey: S('userId'),
} as const satisfies TableDefinition;

export interface UserRecord {
  readonly userId: string;
  /** scrypt(auth key, salt); the auth key itself is never stored. */
  readonly authSalt: string;
  readonly authHash: string;
  readonly createdAt: number;
  readonly bundle?: PublicBundleWire;
  /** The key backup, sealed by the client under a key the server never sees. */
  readonly backup?: string;
  /** Instead of `backup`: a backup too big for an item, kept in the bucket (lambdas/commands/keys.ts). */
  readonly backupBlob?: BackupBlobRef;
  /** The backup's version as its writer named it (0 for a backup stored before versions). */
  readonly backupVersion?: number;
  /** Users whose 1:1 messages and files to this user are dropped. */
  readonly blocked?: readonly string[];
}

export type PublishOutcome = 'published' | 'identity-differs' | 'prekey-not-newer';
/** A key backup as the user item holds it: inline, or a reference to its kept blob. */
export type StoredBackup = { readonly inline: string } | { readonly blob: BackupBlobRef };
export type BackupOutcome =
  /** `replacedBlob`: the kept blob of the backup this one replaced, now unreferenced. */
  { stored: true; replacedBlob?: BackupBlobRef } | { stored: false; currentVersion: number };

export interface UserStore {
  /** False when the name is taken (conditional write). */
  create(user: UserRecord): Promise<boolean>;
  get(userId: string): Promise<UserRecord | undefined>;
  /** Many users' published bundles (BatchGetItem, 100 keys a call); users without one are absent. */
  bundlesOf(userIds: readonly string[]): Promise<Map<string, PublicBundleWire>>;
  /** Of these users, those who block `blockedId` (BatchGetItem). */
  blockersOf(userIds: readonly string[], blockedId: string): Promise<Set<string>>;
  /**
   * Stores the bundle unless its identity keys differ from the stored ones (never silently
   * replaced) or its signed prekey is not newer than the stored one (the same prekey again is
   * a harmless retry).
   */
  publishBundle(userId: string, bundle: PublicBundleWire): Promise<PublishOutcome>;
  /** Compare and swap: stores the backup as `version` only while the stored version is `replaces`. */
  putBackup(
    userId: string,
    backup: StoredBackup,
    version: number,
    replaces: number,
  ): Promise<BackupOutcome>;
  /** Replaces the auth key's hash if it is still `expectedHash`; false when it changed meanwhile. */
  changeAuthKey(
    userId: string,
    expectedHash: string,
    next: { authSalt: string; authHash: string },
  ): Promise<boolean>;
  /** Adds to the block list unless it already holds `max` users; false when full. */
  block(userId: string, blockedId: string, max: number): Promise<boolean>;
  unblock(userId: string, blockedId: string): Promise<void>;
}

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
