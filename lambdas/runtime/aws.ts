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

let documentClient: DynamoDBDocumentClient | undefined;
let lowLevelClient: DynamoDBClient | undefined;
let s3Client: S3Client | undefined;
let s3SigningClient: S3Client | undefined;

export function dynamo(): DynamoDBDocumentClient {
  documentClient ??= DynamoDBDocumentClient.from(makeDynamoClient(), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return documentClient;
}

/**
 * The low-level client with its middleware stack resolved once per command type
 * (`cacheMiddleware`), for the calls made per recipient of a delivery: about a fifth less CPU
 * per call than the DocumentClient (`npx tsx bench/sdk-overhead.ts`). lib-dynamodb refuses
 * `cacheMiddleware`, hence a client of its own; its callers marshal items themselves.
 */
export function dynamoLowLevel(): DynamoDBClient {
  lowLevelClient ??= makeDynamoClient(undefined, { cacheMiddleware: true });
  return lowLevelClient;
}

export function s3(): S3Client {
  s3Client ??= makeS3Client();
  return s3Client;
}

/**
 * The client that signs presigned URLs: they must name the endpoint the *browser* reaches. That
 * is the S3 endpoint itself, except locally when a phone reaches S3 through the web server's
 * HTTPS proxy (`S3_PUBLIC_ENDPOINT`, set by `npm start -- --https`). Signing makes no request.
 */
export function s3Signer(): S3Client {
  const publicEndpoint = process.env[ENDPOINT_ENV.s3Public];
  if (!publicEndpoint) return s3();
  s3SigningClient ??= makeS3Client(publicEndpoint);
  return s3SigningClient;
}
