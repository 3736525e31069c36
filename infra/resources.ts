/**
 * The tables and the blob bucket, declared once as plain data: the CDK stack builds them from
 * here, the local stack creates them in dynalite and s3rver from here, and the Lambdas find them
 * through the environment variables named here. No CDK import, so the local stack stays light.
 */
export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N' | 'B';
}

export interface GlobalIndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
}

export interface TableDefinition {
  /** Environment variable that carries the table's name to the Lambdas. */
  readonly envVar: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** DynamoDB TTL attribute (epoch seconds). TTL deletion is late in AWS and absent locally: reads also check it. */
  readonly ttlAttribute?: string;
  readonly globalIndexes?: readonly GlobalIndexDefinition[];
}

const S = (name: string): KeyAttribute => ({ name, type: 'S' });
const N = (name: string): KeyAttribute => ({ name, type: 'N' });

export const TABLES = {
  /** One item per account: the scrypt hash of the auth key, public key bundle, encrypted key backup. */
  users: { envVar: 'TABLE_USERS', partitionKey: S('userId') },
  /**
   * Each account's devices (`device#<id>`: when its sessions started to count, its current device
   * credential) and one-time device invites (`invite#<credential id>`, expiring).
   */
  devices: {
    envVar: 'TABLE_DEVICES',
    partitionKey: S('userId'),
    sortKey: S('sk'),
    ttlAttribute: 'expiresAt',
  },
  /** Session tokens, stored as SHA-256 hashes with an expiry. */
  sessions: { envVar: 'TABLE_SESSIONS', partitionKey: S('tokenHash'), ttlAttribute: 'expiresAt' },
  /**
   * One mailbox per user: its live connection ids (with their device) and its inbox counter, read
   * with GetItem/BatchGetItem to deliver (lambdas/stores/dynamo-mailboxes.ts).
   */
  mailboxes: { envVar: 'TABLE_MAILBOXES', partitionKey: S('userId') },
  /** Live WebSocket connections (the row is the "bound" mark); `byUser` is only a repair path. */
  connections: {
    envVar: 'TABLE_CONNECTIONS',
    partitionKey: S('connectionId'),
    ttlAttribute: 'expiresAt',
    globalIndexes: [{ indexName: 'byUser', partitionKey: S('userId'), sortKey: S('connectionId') }],
  },
  /** One item per group; membership and its count live here so they cannot drift. */
  groups: { envVar: 'TABLE_GROUPS', partitionKey: S('groupId') },
  /** Per-user membership rows: the index behind "my groups". */
  members: { envVar: 'TABLE_MEMBERS', partitionKey: S('userId'), sortKey: S('groupId') },
  /** Group epochs and the key-shares wrapped for each member (they do not expire). */
  groupKeys: {
    envVar: 'TABLE_GROUP_KEYS',
    partitionKey: S('groupId'),
    sortKey: S('sk'),
    ttlAttribute: 'expiresAt',
  },
  /** One log per group with its own sequence: messages, epochs, joins, leaves (fan-out on read). */
  groupLog: {
    envVar: 'TABLE_GROUP_LOG',
    partitionKey: S('groupId'),
    sortKey: N('seq'),
    ttlAttribute: 'expiresAt',
  },
  /** Per-user inbox with a server-assigned sequence number; items expire after the retention. */
  inbox: {
    envVar: 'TABLE_INBOX',
    partitionKey: S('userId'),
    sortKey: N('seq'),
    ttlAttribute: 'expiresAt',
  },
  /** Uploaded blobs: owner, size, parts, and who may read them. */
  blobs: {
    envVar: 'TABLE_BLOBS',
    partitionKey: S('blobId'),
    sortKey: S('sk'),
    ttlAttribute: 'expiresAt',
  },
  /** Counters and rate-limit windows, message-id claims, and each device's cursors. */
  counters: { envVar: 'TABLE_COUNTERS', partitionKey: S('key'), ttlAttribute: 'expiresAt' },
} as const satisfies Record<string, TableDefinition>;

export type TableName = keyof typeof TABLES;

export const TABLE_NAMES = Object.keys(TABLES) as TableName[];

/** How long the cloud keeps undelivered messages and blobs (DESIGN.md section 5). */
export const RETENTION_DAYS = 30;

/** How long a handler may run: API Gateway stops waiting for an integration after 29 s. */
export const HANDLER_TIMEOUT_SECONDS = 28;

export const BLOB_BUCKET = {
  envVar: 'BLOB_BUCKET',
  /** Blobs (the keys under this prefix) and stale multipart uploads are removed after these many days. */
  expireAfterDays: RETENTION_DAYS,
  expiringPrefix: 'blobs/',
  abortIncompleteMultipartAfterDays: 1,
  /** Browsers PUT parts and GET blobs with presigned URLs. */
  cors: {
    allowedMethods: ['GET', 'PUT', 'HEAD'] as const,
    allowedHeaders: ['*'],
    exposedHeaders: ['ETag'],
    maxAgeSeconds: 3000,
  },
} as const;

/** The names the local stack gives its tables and bucket (in AWS, CloudFormation names them). */
export const localTableName = (table: TableName): string => `cipherline-${table}`;
export const LOCAL_BUCKET_NAME = 'cipherline-blobs';
