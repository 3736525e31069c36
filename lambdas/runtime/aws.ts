/**
 * SDK v3 clients, made once per container (cold start) and pointed at local servers when the
 * endpoint variables are set. S3 needs path-style addressing and checksums only when required
 * against s3rver (otherwise streamed uploads are stored with their chunk framing).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { ENDPOINT_ENV } from './env';

export function makeDynamoClient(
  endpoint = process.env[ENDPOINT_ENV.dynamodb],
  options: { cacheMiddleware?: boolean } = {},
): DynamoDBClient {
  return new DynamoDBClient(endpoint ? { endpoint, ...options } : options);
}

export function makeS3Client(endpoint = process.env[ENDPOINT_ENV.s3]): S3Client {
  // Checksums only when required, in AWS too: with the SDK's default (WHEN_SUPPORTED) every
  // presigned PUT carries x-amz-checksum-crc32 of an empty body, and S3 refuses the real upload.
  const checksums = {
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  } as const;
  return new S3Client(endpoint ? { endpoint, forcePathStyle: true, ...checksums } : checksums);
}

/** The clients a function's stores use; the local stack guards each with its grants (./env.ts). */
export interface AwsClients {
  readonly dynamo: DynamoDBDocumentClient;
  readonly dynamoLowLevel: DynamoDBClient;
  readonly s3: S3Client;
  /**
   * Signs presigned URLs, which must name the endpoint the *browser* reaches: the S3 endpoint
   * itself, except locally when a phone reaches S3 through the web server's HTTPS proxy
   * (`S3_PUBLIC_ENDPOINT`, set by `npm start -- --https`). Signing makes no request.
   */
  readonly s3Signer: S3Client;
}

/**
 * Clients made on first use (cold start), each passed through `prepare` before its first call.
 * `dynamoLowLevel` has its middleware stack resolved once per command type (`cacheMiddleware`),
 * for the calls made per recipient of a delivery: about a fifth less CPU per call than the
 * DocumentClient (`npx tsx bench/sdk-overhead.ts`). lib-dynamodb refuses `cacheMiddleware`,
 * hence a client of its own; its callers marshal items themselves.
 */
export function lazyClients(
  prepare: <C extends DynamoDBClient | S3Client>(client: C) => C = (c) => c,
): AwsClients {
  let documentClient: DynamoDBDocumentClient | undefined;
  let lowLevelClient: DynamoDBClient | undefined;
  let s3Client: S3Client | undefined;
  let s3SigningClient: S3Client | undefined;
  return {
    get dynamo() {
      return (documentClient ??= DynamoDBDocumentClient.from(prepare(makeDynamoClient()), {
        marshallOptions: { removeUndefinedValues: true },
      }));
    },
    get dynamoLowLevel() {
      return (lowLevelClient ??= prepare(makeDynamoClient(undefined, { cacheMiddleware: true })));
    },
    get s3() {
      return (s3Client ??= prepare(makeS3Client()));
    },
    get s3Signer() {
      const publicEndpoint = process.env[ENDPOINT_ENV.s3Public];
      if (!publicEndpoint) return this.s3;
      return (s3SigningClient ??= prepare(makeS3Client(publicEndpoint)));
    },
  };
}

/** This process's clients, as in AWS, where a process is one function. */
export const processClients: AwsClients = lazyClients();
