import type { TableDefinition } from '../stores/table-definition';

/**
 * In AWS a function only has the variables of the tables it was granted, and IAM refuses every
 * call its role does not allow. The local stack runs every handler in one process with every
 * variable set, so it marks each invocation's Lambda context with its function's access
 * (infra/local/access-guard.ts): `serverDeps(context)` then resolves names through the granted
 * set and makes that function's own SDK clients, guarded so that an undeclared action fails
 * locally as it would in AWS. (An AsyncLocalStorage did this before; on Node 20 its promise hooks
 * add 11-15 % to every SDK call's CPU: bench/sdk-overhead.ts.)
 */
const LOCAL_ACCESS = Symbol('cipherline.localFunctionAccess');

/** An AWS SDK v3 client, as far as the guard needs to see it. */
export interface GuardableClient {
  readonly middlewareStack: object;
}

/** Local stack only: what the invoked function may touch. */
export interface LocalFunctionAccess {
  /** The function's name, for messages. */
  readonly functionName: string;
  /** The table and bucket variables the function has in AWS. */
  readonly environmentNames: ReadonlySet<string>;
  /** Makes the client refuse, as IAM would, every call the function's grants do not cover. */
  guard<C extends GuardableClient>(client: C): C;
  /** The same check for a local stand-in that is no SDK client (the in-process delay queue). */
  check(service: 'sqs', action: string): void;
}

/** The names a function may read; undefined means the whole process environment (as in AWS). */
export type GrantedNames = ReadonlySet<string> | undefined;

/** Local stack only: the invocation's context, marked with what its function was granted. */
export function withLocalAccess<C extends object>(context: C, access: LocalFunctionAccess): C {
  return Object.assign(Object.create(context) as C, { [LOCAL_ACCESS]: access });
}

/** The local stack's mark on this invocation; undefined in AWS. */
export function localAccessOf(context: object | undefined): LocalFunctionAccess | undefined {
  return (context as { [LOCAL_ACCESS]?: LocalFunctionAccess } | undefined)?.[LOCAL_ACCESS];
}

/** The names of this function's tables and bucket, injected by the CDK stack or the local stack. */
export function tableName(table: TableDefinition, granted?: GrantedNames): string {
  return required(table.envVar, granted);
}

/** The bucket's name; its definition comes from the caller, so env.ts bundles no store code. */
export function bucketName(bucket: { readonly envVar: string }, granted?: GrantedNames): string {
  return required(bucket.envVar, granted);
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
