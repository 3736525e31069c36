/**
 * SDK v3 clients, made once per container (cold start) and pointed at local servers when the
 * endpoint variables are set. S3 needs path-style addressing and checksums only when required
 * against s3rver (otherwise streamed uploads are stored with their chunk framing).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { ENDPOINT_ENV } from './env';

export function makeDynamoClient(endpoint = process.env[ENDPOINT_ENV.dynamodb]): DynamoDBClient {
  return new DynamoDBClient(endpoint ? { endpoint } : {});
}

export function makeS3Client(endpoint = process.env[ENDPOINT_ENV.s3]): S3Client {
  return new S3Client(
    endpoint
      ? {
          endpoint,
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        }
      : {},
  );
}

let documentClient: DynamoDBDocumentClient | undefined;
let s3Client: S3Client | undefined;

export function dynamo(): DynamoDBDocumentClient {
  documentClient ??= DynamoDBDocumentClient.from(makeDynamoClient(), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return documentClient;
}

export function s3(): S3Client {
  s3Client ??= makeS3Client();
  return s3Client;
}
