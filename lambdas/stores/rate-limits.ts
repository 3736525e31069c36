/**
 * Rate limits (table `rateLimits`, key `key`): counters that live for one window (requests per
 * minute, sign-ups per address per hour, upload bytes per day) and sign-in attempt reservations.
 * Every key of the table is built by `rateLimitKeys`.
 */
import {
  DeleteCommand,
  GetCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { conditionHolds, fromTtl, isConditionFailure, isLive, toTtl } from './dynamo-common';
import { S, type TableDefinition } from './table-definition';

/** Rate-limit windows and sign-in attempt counters, each expiring with its window. */
export const rateLimitsTable = {
  envVar: 'TABLE_RATE_LIMITS',
  partitionKey: S('key'),
  ttlAttribute: 'expiresAt',
} as const satisfies TableDefinition;

/** The keys of the table, each prefix defined here once. */
export const rateLimitKeys = {
  /** Requests of one kind by one user in one minute. */
  perMinute: (action: string, userId: string, minute: number) =>
    `rate#${action}#${userId}#${minute}`,
  /** Sign-ups from one address group in one hour. */
  signups: (addressGroup: string, hour: number) => `signup#${addressGroup}#${hour}`,
  /** Bytes uploaded by one user in one day. */
  uploadBytes: (userId: string, day: number) => `upload-bytes#${userId}#${day}`,
  /** Failed sign-ins from one address group. */
  signinFailuresOfAddress: (addressGroup: string) => `fail#ip#${addressGroup}`,
  /** Failed sign-ins to one account. */
  signinFailuresOfUser: (userId: string) => `fail#user#${userId}`,
  /** Failed password checks of one device's password change. */
  passwordFailures: (userId: string, deviceId: string) => `fail#password#${userId}#${deviceId}`,
  /** Failed sign-ins with one device credential. */
  credentialFailures: (credentialId: string) => `fail#cred#${credentialId}`,
} as const;

/**
 * Sign-in attempts reserved under one key (an account, an address, a device credential) and not
 * released; `version` changes with every write, so a reservation is a compare-and-swap on it.
 */
export interface AttemptCounter {
  readonly count: number;
  /** No further attempt may be reserved before this (ms since epoch). */
  readonly nextAt: number;
  readonly version: number;
  readonly expiresAt: number;
}

export interface RateLimitStore {
  /** Atomically adds `by` (default 1) and returns the new count; the window starts at the first hit. */
  increment(
    key: string,
    expiresAt: number,
    by?: number,
  ): Promise<{ count: number; updatedAt: number }>;
  /**
   * Atomically adds `amount` unless the total would pass `max`; the window starts at the first
   * add. Returns whether it was added and the total (after adding, or as it stands when refused).
   */
  addWithin(
    key: string,
    amount: number,
    max: number,
    expiresAt: number,
  ): Promise<{ added: boolean; total: number }>;
  get(key: string, now: number): Promise<{ count: number; updatedAt: number } | undefined>;
  reset(key: string): Promise<void>;
  getAttempts(key: string, now: number): Promise<AttemptCounter | undefined>;
  /**
   * Writes `next` if the counter is still `seen` (undefined: absent or expired); false when
   * another attempt changed it first.
   */
  swapAttempts(
    key: string,
    seen: AttemptCounter | undefined,
    next: Omit<AttemptCounter, 'version'>,
    now: number,
  ): Promise<boolean>;
  /** Gives back one reserved attempt (never below zero). */
  releaseAttempt(key: string): Promise<void>;
}

export class DynamoRateLimitStore implements RateLimitStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async increment(
    key: string,
    expiresAt: number,
    by = 1,
  ): Promise<{ count: number; updatedAt: number }> {
    const now = Date.now();
    const { Attributes } = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { key },
        UpdateExpression:
          'ADD #count :by SET updatedAt = :now, expiresAt = if_not_exists(expiresAt, :expires)',
        ExpressionAttributeNames: { '#count': 'count' },
        ExpressionAttributeValues: { ':by': by, ':now': now, ':expires': toTtl(expiresAt) },
        ReturnValues: 'ALL_NEW',
      }),
    );
    // A window that expired but was not yet deleted by TTL starts over.
    if (!isLive(Attributes, now)) {
      await this.reset(key);
      return this.increment(key, expiresAt, by);
    }
    return { count: Attributes!.count as number, updatedAt: now };
  }

  async addWithin(
    key: string,
    amount: number,
    max: number,
    expiresAt: number,
  ): Promise<{ added: boolean; total: number }> {
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { key },
          UpdateExpression: 'ADD #count :amount SET expiresAt = if_not_exists(expiresAt, :expires)',
          ConditionExpression: 'attribute_not_exists(#count) OR #count <= :room',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: {
            ':amount': amount,
            ':room': max - amount,
            ':expires': toTtl(expiresAt),
          },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return { added: true, total: Attributes!.count as number };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const current = await this.get(key, 0);
      return { added: false, total: current?.count ?? 0 };
    }
  }

  async getAttempts(key: string, now: number): Promise<AttemptCounter | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { key }, ConsistentRead: true }),
    );
    if (!Item || !isLive(Item, now) || typeof Item.version !== 'number') return undefined;
    return {
      count: Item.count as number,
      nextAt: Item.nextAt as number,
      version: Item.version,
      expiresAt: fromTtl(Item.expiresAt as number),
    };
  }

  async swapAttempts(
    key: string,
    seen: AttemptCounter | undefined,
    next: Omit<AttemptCounter, 'version'>,
    now: number,
  ): Promise<boolean> {
    return conditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { key },
          UpdateExpression:
            'SET #count = :count, nextAt = :nextAt, expiresAt = :expires, version = :version',
          // Absent, expired (TTL deletes late) or a counter of the old kind, or exactly as read.
          ConditionExpression: seen
            ? 'version = :seen'
            : 'attribute_not_exists(version) OR expiresAt <= :now',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: {
            ':count': next.count,
            ':nextAt': next.nextAt,
            ':expires': toTtl(next.expiresAt),
            ':version': (seen?.version ?? 0) + 1,
            ...(seen ? { ':seen': seen.version } : { ':now': toTtl(now) }),
          },
        }),
      ),
    );
  }

  async releaseAttempt(key: string): Promise<void> {
    await conditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { key },
          UpdateExpression: 'ADD #count :minusOne, version :one',
          ConditionExpression: '#count > :zero',
          ExpressionAttributeNames: { '#count': 'count' },
          ExpressionAttributeValues: { ':minusOne': -1, ':one': 1, ':zero': 0 },
        }),
      ),
    );
  }

  async get(key: string, now: number): Promise<{ count: number; updatedAt: number } | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.table, Key: { key }, ConsistentRead: true }),
    );
    if (!Item || !isLive(Item, now)) return undefined;
    return { count: Item.count as number, updatedAt: Item.updatedAt as number };
  }

  async reset(key: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: { key } }));
  }
}
