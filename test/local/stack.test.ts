/** The local cloud's servers and bootstrap, through the real AWS SDK clients. */
import { DescribeTableCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetBucketCorsCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { DataFolderInUseError } from '../../infra/local/data-lock';
import { startLocalStack } from '../../infra/local/stack';
import { LOCAL_BUCKET_NAME, localTableName } from '../../infra/local/names';
import { TABLES, TABLE_NAMES } from '../../lambdas/tables';
import { blobCorsOrigins } from '../../infra/web-policy';
import { makeDynamoClient, makeS3Client } from '../../lambdas/runtime/aws';
import { FREE_PORTS, tempDataDir } from '../../tools/local-stack';

const data = tempDataDir();
afterAll(() => data.remove());

describe('local stack', () => {
  it('creates every table from the shared definitions, with the bucket and its CORS rules', async () => {
    const stack = await startLocalStack({ dataDir: data.dir, ...FREE_PORTS });
    try {
      expect([...stack.createdTables].sort()).toEqual(TABLE_NAMES.map(localTableName).sort());
      const dynamo = makeDynamoClient(stack.endpoints.dynamodb);
      const { TableNames } = await dynamo.send(new ListTablesCommand({}));
      expect(TableNames).toEqual(expect.arrayContaining(TABLE_NAMES.map(localTableName)));

      const connections = await dynamo.send(
        new DescribeTableCommand({ TableName: localTableName('connections') }),
      );
      expect(connections.Table?.KeySchema).toEqual([
        { AttributeName: TABLES.connections.partitionKey.name, KeyType: 'HASH' },
      ]);
      expect(connections.Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName)).toEqual([
        'byUser',
      ]);
      const inbox = await dynamo.send(
        new DescribeTableCommand({ TableName: localTableName('inbox') }),
      );
      expect(inbox.Table?.KeySchema?.map((k) => k.KeyType)).toEqual(['HASH', 'RANGE']);

      const cors = await makeS3Client(stack.endpoints.s3).send(
        new GetBucketCorsCommand({ Bucket: LOCAL_BUCKET_NAME }),
      );
      expect(cors.CORSRules?.[0]?.AllowedMethods).toEqual(expect.arrayContaining(['GET', 'PUT']));
      expect(cors.CORSRules?.[0]?.AllowedOrigins).toEqual(blobCorsOrigins());
      // A presigned PUT's preflight: pages on this machine pass, any other origin is refused.
      const preflight = (origin: string) =>
        fetch(`${stack.endpoints.s3}/${LOCAL_BUCKET_NAME}/blobs/some-id`, {
          method: 'OPTIONS',
          headers: {
            origin,
            'access-control-request-method': 'PUT',
            'access-control-request-headers': 'content-type',
          },
        }).then((response) => response.status);
      expect(await preflight('http://127.0.0.1:5173')).toBe(200);
      expect(await preflight('https://localhost:8443')).toBe(200);
      expect(await preflight('https://d111111abcdef8.cloudfront.net')).toBe(403);
      expect(await preflight('http://192.168.1.20:5173')).toBe(403);
    } finally {
      await stack.stop();
    }
  });

  it('refuses a second stack on a data folder in use, with a clear message, and keeps the first running', async () => {
    const stack = await startLocalStack({ dataDir: data.dir, ...FREE_PORTS });
    try {
      const second = startLocalStack({ dataDir: data.dir, ...FREE_PORTS });
      await expect(second).rejects.toBeInstanceOf(DataFolderInUseError);
      await expect(second).rejects.toThrow(/is in use by another local stack \(pid \d+\)/);
      const { TableNames } = await makeDynamoClient(stack.endpoints.dynamodb).send(
        new ListTablesCommand({}),
      );
      expect(TableNames?.length).toBe(TABLE_NAMES.length);
    } finally {
      await stack.stop();
    }
  });

  it('keeps items and objects across a restart', async () => {
    const first = await startLocalStack({ dataDir: data.dir, ...FREE_PORTS });
    const item = { userId: 'restart-check', note: 'kept' };
    try {
      await DynamoDBDocumentClient.from(makeDynamoClient(first.endpoints.dynamodb)).send(
        new PutCommand({ TableName: localTableName('users'), Item: item }),
      );
      await makeS3Client(first.endpoints.s3).send(
        new PutObjectCommand({ Bucket: LOCAL_BUCKET_NAME, Key: 'blob-1', Body: 'ciphertext' }),
      );
    } finally {
      await first.stop();
    }

    const second = await startLocalStack({ dataDir: data.dir, ...FREE_PORTS });
    try {
      expect(second.createdTables).toEqual([]);
      const got = await DynamoDBDocumentClient.from(
        makeDynamoClient(second.endpoints.dynamodb),
      ).send(
        new GetCommand({ TableName: localTableName('users'), Key: { userId: 'restart-check' } }),
      );
      expect(got.Item).toEqual(item);
      const object = await makeS3Client(second.endpoints.s3).send(
        new GetObjectCommand({ Bucket: LOCAL_BUCKET_NAME, Key: 'blob-1' }),
      );
      expect(await object.Body?.transformToString()).toBe('ciphertext');
    } finally {
      await second.stop();
    }
  });

  it('takes over the lock a dead process left behind', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${data.dir}/lock`, '2147483646'); // no such pid
    const stack = await startLocalStack({ dataDir: data.dir, ...FREE_PORTS });
    await stack.stop();
  });
});
