/**
 * Environment for the AWS SDK v3 clients when they talk to the local servers: the same handler
 * code runs, only endpoints and dummy credentials differ (s3rver accepts S3RVER/S3RVER).
 */
import { ENDPOINT_ENV } from '../../lambdas/runtime/env';
import { BLOB_BUCKET, TABLES, TABLE_NAMES } from '../../lambdas/tables';
import { LOCAL_BUCKET_NAME, localTableName } from './names';

export interface LocalEndpoints {
  readonly dynamodb: string;
  readonly s3: string;
  readonly managementApi: string;
}

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** Region and dummy credentials, so no SDK client looks for real ones (or asks EC2 metadata). */
export const LOCAL_BASE_ENVIRONMENT: Record<string, string> = {
  AWS_REGION: LOCAL_REGION,
  AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
  AWS_EC2_METADATA_DISABLED: 'true',
  // Development runs on Node 20; the Lambdas run on Node 22 in AWS.
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

/** The variables a Lambda gets in AWS from the CDK stack, here pointing at the local servers. */
export function localLambdaEnvironment(endpoints: LocalEndpoints): Record<string, string> {
  const env: Record<string, string> = {
    ...LOCAL_BASE_ENVIRONMENT,
    [ENDPOINT_ENV.dynamodb]: endpoints.dynamodb,
    [ENDPOINT_ENV.s3]: endpoints.s3,
    [ENDPOINT_ENV.managementApi]: endpoints.managementApi,
    [BLOB_BUCKET.envVar]: LOCAL_BUCKET_NAME,
  };
  for (const table of TABLE_NAMES) env[TABLES[table].envVar] = localTableName(table);
  return env;
}
