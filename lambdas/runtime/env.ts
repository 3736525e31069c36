import { TABLES, BLOB_BUCKET, type TableName } from '../../infra/resources';

/**
 * In AWS a function only has the variables of the tables it was granted. The local stack runs
 * every handler in one process with every variable set, so it marks each invocation's Lambda
 * context with the names its function was granted, and `serverDeps(context)` resolves names
 * through that set: a missing grant fails here as it would in AWS. (An AsyncLocalStorage did this
 * before; on Node 20 its promise hooks add 11-15 % to every SDK call's CPU: bench/sdk-overhead.ts.)
 */
const GRANTED_NAMES = Symbol('cipherline.grantedEnvironmentNames');

/** The names a function may read; undefined means the whole process environment (as in AWS). */
export type GrantedNames = ReadonlySet<string> | undefined;

/** Local stack only: the invocation's context, marked with what its function was granted. */
export function withGrantedEnvironment<C extends object>(
  context: C,
  names: ReadonlySet<string>,
): C {
  return Object.assign(Object.create(context) as C, { [GRANTED_NAMES]: names });
}

export function grantedNamesOf(context: object | undefined): GrantedNames {
  return (context as { [GRANTED_NAMES]?: ReadonlySet<string> } | undefined)?.[GRANTED_NAMES];
}

/** The names of this function's tables and bucket, injected by the CDK stack or the local stack. */
export function tableName(table: TableName, granted?: GrantedNames): string {
  return required(TABLES[table].envVar, granted);
}

export function bucketName(granted?: GrantedNames): string {
  return required(BLOB_BUCKET.envVar, granted);
}

/** Local development points the SDK clients at dynalite, s3rver and the local gateway. */
export const ENDPOINT_ENV = {
  dynamodb: 'DYNAMODB_ENDPOINT',
  s3: 'S3_ENDPOINT',
  managementApi: 'MANAGEMENT_API_ENDPOINT',
  /** The S3 endpoint as clients reach it, when that differs (a phone through the web server's proxy). */
  s3Public: 'S3_PUBLIC_ENDPOINT',
} as const;

function required(name: string, granted: GrantedNames): string {
  const value = granted && !granted.has(name) ? undefined : process.env[name];
  if (!value) throw new Error(`Missing environment variable ${name}`);
  return value;
}
