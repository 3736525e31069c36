import { AsyncLocalStorage } from 'node:async_hooks';
import { TABLES, BLOB_BUCKET, type TableName } from '../../infra/resources';

/**
 * In AWS a function only has the variables of the tables it was granted. The local stack runs
 * every handler in one process with every variable set, so it runs each invocation inside the
 * set of names its route was granted, and a missing grant fails here as it would in AWS.
 */
const grantedNames = new AsyncLocalStorage<ReadonlySet<string>>();

export function runWithGrantedEnvironment<T>(names: ReadonlySet<string>, run: () => T): T {
  return grantedNames.run(names, run);
}

/** The names of this function's tables and bucket, injected by the CDK stack or the local stack. */
export function tableName(table: TableName): string {
  return required(TABLES[table].envVar);
}

export function bucketName(): string {
  return required(BLOB_BUCKET.envVar);
}

/** Local development points the SDK clients at dynalite, s3rver and the local gateway. */
export const ENDPOINT_ENV = {
  dynamodb: 'DYNAMODB_ENDPOINT',
  s3: 'S3_ENDPOINT',
  managementApi: 'MANAGEMENT_API_ENDPOINT',
} as const;

function required(name: string): string {
  const granted = grantedNames.getStore();
  const value = granted && !granted.has(name) ? undefined : process.env[name];
  if (!value) throw new Error(`Missing environment variable ${name}`);
  return value;
}
