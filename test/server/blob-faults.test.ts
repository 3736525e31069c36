/**
 * The part layout, what s3rver does not enforce (so the docs can say so), and S3 refusing a
 * completion, injected into the real SDK client the handlers use.
 */
import { randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { LOCAL_BUCKET_NAME, localTableName } from '../../infra/local/names';
import { makeDynamoClient, makeS3Client } from '../../lambdas/runtime/aws';
import {
  BLOB_PART_BYTES,
  MAX_BLOB_BYTES,
  MAX_BLOB_PARTS,
  partLength,
  planParts,
} from '../../protocol/blobs';
import { signupUser, type TestUser } from '../../tools/accounts';
import { startTestStack } from '../../tools/local-stack';

const MIB = 1024 * 1024;

describe('part layout', () => {
  it('makes every part but the last exactly 8 MiB (S3 wants at least 5 MiB) and sums to the size', () => {
    const sizes = [
      1,
      1000,
      BLOB_PART_BYTES - 1,
      BLOB_PART_BYTES,
      BLOB_PART_BYTES + 1,
      2 * BLOB_PART_BYTES + 12_345,
      3 * BLOB_PART_BYTES,
      MAX_BLOB_BYTES - 1,
      MAX_BLOB_BYTES,
    ];
    for (const size of sizes) {
      const { partCount, multipart } = planParts(size);
      const lengths = Array.from({ length: partCount }, (_, i) => partLength(size, i + 1));
      expect(lengths.reduce((a, b) => a + b, 0)).toBe(size);
      expect(lengths.slice(0, -1).every((l) => l === BLOB_PART_BYTES && l >= 5 * MIB)).toBe(true);
      expect(lengths.at(-1)).toBeGreaterThan(0);
      expect(multipart).toBe(size > BLOB_PART_BYTES);
      expect(partCount).toBeLessThanOrEqual(MAX_BLOB_PARTS);
    }
    expect(MAX_BLOB_PARTS).toBe(256);
  });
});

let stack: LocalStack;
let alice: TestUser;

beforeAll(async () => {
  stack = await startTestStack();
  alice = await signupUser(stack.endpoints.websocket, 'alice');
});
afterAll(() => stack.stop());

async function tinyMultipart(client: S3Client, etagOf: (real: string) => string) {
  const Key = `probe/${randomBytes(6).toString('hex')}`;
  const { UploadId } = await client.send(
    new CreateMultipartUploadCommand({ Bucket: LOCAL_BUCKET_NAME, Key }),
  );
  const parts = [];
  for (const PartNumber of [1, 2]) {
    const { ETag } = await client.send(
      new UploadPartCommand({
        Bucket: LOCAL_BUCKET_NAME,
        Key,
        UploadId,
        PartNumber,
        Body: randomBytes(10),
      }),
    );
    parts.push({ PartNumber, ETag: etagOf(ETag!) });
  }
  await client.send(
    new CompleteMultipartUploadCommand({
      Bucket: LOCAL_BUCKET_NAME,
      Key,
      UploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
  const { ContentLength } = await client.send(
    new GetObjectCommand({ Bucket: LOCAL_BUCKET_NAME, Key }),
  );
  return ContentLength;
}

describe('s3rver gaps (documented in docs/server.md)', () => {
  it('does not enforce the 5 MiB minimum part size: two 10-byte parts complete', async () => {
    expect(await tinyMultipart(makeS3Client(stack.endpoints.s3), (etag) => etag)).toBe(20);
  });

  it('does not compare part ETags at completion', async () => {
    expect(await tinyMultipart(makeS3Client(stack.endpoints.s3), () => '"0123456789abcdef"')).toBe(
      20,
    );
  });
});

describe('S3 refusing a completion (fault injected into the SDK client)', () => {
  async function startedMultipart() {
    const started = await alice.client.request('upload', {
      op: 'start',
      size: BLOB_PART_BYTES + 1,
    });
    expect(started).toMatchObject({ type: 'ok', multipart: true });
    return started.blobId as string;
  }

  const parts = [
    { partNumber: 1, etag: '"a"' },
    { partNumber: 2, etag: '"b"' },
  ];

  /**
   * Makes the handlers' S3 clients fail CompleteMultipartUpload with an S3 error of this name.
   * Each local function has S3 clients of its own (guarded by its grants), so the fault goes on
   * the class; only the upload handler sends that command.
   */
  function failCompletionWith(name: string): () => void {
    const original = S3Client.prototype.send;
    S3Client.prototype.send = function (this: S3Client, command: unknown, ...rest: unknown[]) {
      if (command instanceof CompleteMultipartUploadCommand) {
        const error = Object.assign(new Error(name), {
          name,
          $metadata: { httpStatusCode: 400 },
        });
        return Promise.reject(error);
      }
      return (original as (...args: unknown[]) => Promise<unknown>).call(this, command, ...rest);
    } as typeof original;
    return () => {
      S3Client.prototype.send = original;
    };
  }

  const meta = async (blobId: string) =>
    (
      await DynamoDBDocumentClient.from(makeDynamoClient(stack.endpoints.dynamodb)).send(
        new GetCommand({
          TableName: localTableName('blobs'),
          Key: { blobId, sk: 'meta' },
          ConsistentRead: true,
        }),
      )
    ).Item;

  it('answers CONFLICT for a wrong or missing part and keeps the upload open', async () => {
    const blobId = await startedMultipart();
    const restore = failCompletionWith('InvalidPart');
    try {
      expect(await alice.client.request('upload', { op: 'complete', blobId, parts })).toMatchObject(
        { code: 'CONFLICT', message: expect.stringContaining('ETag') },
      );
    } finally {
      restore();
    }
    expect(await meta(blobId)).toMatchObject({ state: 'uploading' });
    expect(await alice.client.request('upload', { op: 'sign', blobId, parts: [1] })).toMatchObject({
      type: 'ok',
    });
  });

  it('answers NOT_FOUND when S3 no longer knows the upload, and forgets it', async () => {
    const blobId = await startedMultipart();
    const restore = failCompletionWith('NoSuchUpload');
    try {
      expect(await alice.client.request('upload', { op: 'complete', blobId, parts })).toMatchObject(
        { code: 'NOT_FOUND', message: expect.stringContaining('new upload') },
      );
    } finally {
      restore();
    }
    expect(await meta(blobId)).toBeUndefined();
  });

  it('answers INTERNAL, without detail, for an unexpected S3 failure', async () => {
    const blobId = await startedMultipart();
    const restore = failCompletionWith('SlowDown');
    try {
      const reply = await alice.client.request('upload', { op: 'complete', blobId, parts });
      expect(reply).toMatchObject({ code: 'INTERNAL' });
      expect(String(reply.message)).not.toContain('SlowDown');
    } finally {
      restore();
    }
  });
});
