/**
 * The grant format of the route table (./route-table.ts): what one function may touch, declared
 * once. `grantStatements` turns a declaration into IAM-shaped statements without any CDK type;
 * the CDK stack makes them real (infra/cdk/function-grants.ts), the local stack refuses every
 * SDK call they do not cover (infra/local/access-guard.ts), and the assertion tests compare the
 * synthesized policies with them. To extend the format, add a field here and a case to
 * `grantStatements`: all three follow.
 */
import { BLOB_BUCKET, TABLES, type TableName } from './tables';

/** DynamoDB actions on a table's items (IAM `dynamodb:<action>` on the table). */
export type ItemAction =
  | 'GetItem'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'Query'
  | 'Scan'
  | 'BatchGetItem'
  | 'BatchWriteItem';

/** Reads on a secondary index (IAM `dynamodb:<action>` on `<table>/index/<index>`). */
export type IndexAction = 'Query' | 'Scan';

type IndexNameOf<T extends TableName> = (typeof TABLES)[T] extends {
  readonly globalIndexes: readonly { readonly indexName: infer N }[];
}
  ? N & string
  : never;

export interface TableGrant<T extends TableName = TableName> {
  readonly items: readonly ItemAction[];
  readonly indexes?: { readonly [I in IndexNameOf<T>]?: readonly IndexAction[] };
}

export type TableGrants = { readonly [T in TableName]?: TableGrant<T> };

/** Object actions, only ever on the bucket's `blobs/*` keys (IAM `s3:<action>`). */
export type BlobObjectAction = 'GetObject' | 'PutObject' | 'DeleteObject';

export interface BucketGrant {
  readonly objects: readonly BlobObjectAction[];
  /** Object actions on the bucket's `backups/*` keys: kept key backups (lambdas/commands/keys.ts). */
  readonly backups?: readonly BlobObjectAction[];
  /**
   * `s3:ListBucket` on the bucket, for a function that HEADs keys that may not exist: without
   * it S3 answers 403 instead of 404 for a missing key (lambdas/stores/blob-objects.ts `head`).
   */
  readonly listsBlobs?: boolean;
}

/** Everything a function may touch besides its own log group. */
export interface FunctionGrants {
  readonly tables: TableGrants;
  readonly bucket?: BucketGrant;
  /** Posts events to connections through @connections (`POST`). */
  readonly pushes: boolean;
  /** Closes connections through @connections (`DELETE`). */
  readonly closesConnections: boolean;
  /** Sends unbound-connection checks to the delay queue (`sqs:SendMessage`). */
  readonly schedulesUnboundChecks: boolean;
  /**
   * Reads the device-credential key (`secretsmanager:GetSecretValue` on its secret), to make or
   * check device credentials (lambdas/runtime/secrets.ts).
   */
  readonly readsDeviceCredentialKey: boolean;
}

/** What a statement applies to; the CDK stack resolves each kind to an ARN. */
export type GrantResource =
  | { readonly kind: 'table'; readonly table: TableName }
  | { readonly kind: 'index'; readonly table: TableName; readonly index: string }
  /** The blob bucket's `blobs/*` keys. */
  | { readonly kind: 'blobObjects' }
  /** The blob bucket's `backups/*` keys. */
  | { readonly kind: 'backupObjects' }
  | { readonly kind: 'blobBucket' }
  /** `@connections/*` of the stage, for one HTTP method. */
  | { readonly kind: 'connections'; readonly method: 'POST' | 'DELETE' }
  | { readonly kind: 'unboundQueue' }
  /** The Secrets Manager secret holding the device-credential MAC key. */
  | { readonly kind: 'deviceCredentialKey' };

export interface GrantStatement {
  /** IAM action names, e.g. `dynamodb:GetItem`, in a stable order. */
  readonly actions: readonly string[];
  readonly resource: GrantResource;
}

const sorted = (actions: readonly string[]) => [...new Set(actions)].sort();

/** One statement per table, index, bucket resource, connection method and queue granted. */
export function grantStatements(grants: FunctionGrants): GrantStatement[] {
  const statements: GrantStatement[] = [];
  for (const table of Object.keys(grants.tables).sort() as TableName[]) {
    const grant = grants.tables[table] as TableGrant | undefined;
    if (!grant) continue;
    if (grant.items.length > 0)
      statements.push({
        actions: sorted(grant.items.map((action) => `dynamodb:${action}`)),
        resource: { kind: 'table', table },
      });
    const indexes = (grant.indexes ?? {}) as Record<string, readonly IndexAction[] | undefined>;
    for (const [index, actions] of Object.entries(indexes))
      if (actions && actions.length > 0)
        statements.push({
          actions: sorted(actions.map((action) => `dynamodb:${action}`)),
          resource: { kind: 'index', table, index },
        });
  }
  if (grants.bucket && grants.bucket.objects.length > 0)
    statements.push({
      actions: sorted(grants.bucket.objects.map((action) => `s3:${action}`)),
      resource: { kind: 'blobObjects' },
    });
  if (grants.bucket?.backups && grants.bucket.backups.length > 0)
    statements.push({
      actions: sorted(grants.bucket.backups.map((action) => `s3:${action}`)),
      resource: { kind: 'backupObjects' },
    });
  if (grants.bucket?.listsBlobs)
    statements.push({ actions: ['s3:ListBucket'], resource: { kind: 'blobBucket' } });
  if (grants.pushes)
    statements.push({
      actions: ['execute-api:ManageConnections'],
      resource: { kind: 'connections', method: 'POST' },
    });
  if (grants.closesConnections)
    statements.push({
      actions: ['execute-api:ManageConnections'],
      resource: { kind: 'connections', method: 'DELETE' },
    });
  if (grants.schedulesUnboundChecks)
    statements.push({ actions: ['sqs:SendMessage'], resource: { kind: 'unboundQueue' } });
  if (grants.readsDeviceCredentialKey)
    statements.push({
      actions: ['secretsmanager:GetSecretValue'],
      resource: { kind: 'deviceCredentialKey' },
    });
  return statements;
}

/** The table and bucket variables a function with these grants is given (lambdas/runtime/env.ts). */
export function grantedEnvironmentNames(grants: FunctionGrants): ReadonlySet<string> {
  const names = new Set<string>(
    (Object.keys(grants.tables) as TableName[]).map((table) => TABLES[table].envVar),
  );
  if (grants.bucket) names.add(BLOB_BUCKET.envVar);
  return names;
}
