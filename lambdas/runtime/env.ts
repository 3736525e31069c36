import { TABLES, BLOB_BUCKET, type TableName } from '../../infra/resources';

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
  const value = process.env[name];
  if (!value) throw new Error(`Missing environment variable ${name}`);
  return value;
}
