/**
 * Key backups too big for a frame (issue 9 point 6): uploaded like a file and named by reference
 * {blobId, size, digest} in `put-backup`. The server keeps a copy under backups/, swaps it in by
 * compare and swap on the version, deletes the upload and the backup it replaced, and refuses a
 * reference to another user's upload, a missing one, or one whose bytes have another digest.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { LOCAL_BUCKET_NAME, localTableName } from '../../infra/local/names';
import { makeDynamoClient, makeS3Client } from '../../lambdas/runtime/aws';
import { BLOB_CONTENT_TYPE } from '../../protocol/blobs';
import { MAX_BACKUP_BLOB_BYTES } from '../../protocol/commands';
import { signupUser, type TestUser } from '../../tools/accounts';
import { startTestStack } from '../../tools/local-stack';

let stack: LocalStack;
let alice: TestUser;
let mallory: TestUser;

beforeAll(async () => {
  stack = await startTestStack();
  [alice, mallory] = (await Promise.all(
    ['alice', 'mallory'].map((name) => signupUser(stack.endpoints.websocket, name)),
  )) as [TestUser, TestUser];
});
afterAll(async () => {
  alice.client.close();
  mallory.client.close();
  await stack.stop();
});

type Ref = { blobId: string; size: number; digest: string };
const digestOf = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('base64');

/** Uploads `bytes` as a client does (one PUT) and answers the reference to name it by. */
async function upload(user: TestUser, bytes: Uint8Array, complete = true): Promise<Ref> {
  const started = await user.client.request('upload', { op: 'start', size: bytes.length });
  expect(started).toMatchObject({ type: 'ok', multipart: false });
  const [part] = started.urls as { url: string }[];
  const put = await fetch(part!.url, {
    method: 'PUT',
    headers: { 'content-type': BLOB_CONTENT_TYPE },
    body: new Uint8Array(bytes),
  });
  expect(put.status).toBe(200);
  const blobId = started.blobId as string;
  if (complete)
    expect(await user.client.request('upload', { op: 'complete', blobId })).toMatchObject({
      type: 'ok',
    });
  return { blobId, size: bytes.length, digest: digestOf(bytes) };
}

const putBackup = (user: TestUser, fields: Record<string, unknown>) =>
  user.client.request('keys', { op: 'put-backup', ...fields });

async function keys(prefix: string): Promise<string[]> {
  const s3 = makeS3Client(stack.endpoints.s3);
  const listed = await s3.send(
    new ListObjectsV2Command({ Bucket: LOCAL_BUCKET_NAME, Prefix: prefix }),
  );
  return (listed.Contents ?? []).map((object) => object.Key!).sort();
}

async function userItem(userId: string): Promise<Record<string, unknown>> {
  const db = DynamoDBDocumentClient.from(makeDynamoClient(stack.endpoints.dynamodb));
  const { Item } = await db.send(
    new GetCommand({ TableName: localTableName('users'), Key: { userId } }),
  );
  return Item!;
}

async function downloaded(user: TestUser): Promise<{ version: number; bytes: Buffer }> {
  const reply = await user.client.request('keys', { op: 'get-backup' });
  expect(reply).toMatchObject({ type: 'ok', blob: { size: expect.any(Number) } });
  const blob = reply.blob as { url: string; size: number; digest: string };
  const response = await fetch(blob.url);
  expect(response.status).toBe(200);
  const bytes = Buffer.from(await response.arrayBuffer());
  expect(bytes.length).toBe(blob.size);
  expect(digestOf(bytes)).toBe(blob.digest);
  return { version: reply.version as number, bytes };
}

describe('a key backup through the blob store', () => {
  it('is stored by reference, served by a presigned GET, and replaced by CAS (the old blob deleted)', async () => {
    const first = randomBytes(40_000);
    const firstRef = await upload(alice, first);
    expect(await putBackup(alice, { blob: firstRef, version: 1, replaces: 0 })).toMatchObject({
      type: 'ok',
      stored: true,
      version: 1,
    });
    // Kept outside blobs/ (which expires after 30 days); the upload itself is gone.
    expect(await keys('backups/')).toEqual([`backups/${firstRef.blobId}`]);
    expect(await keys(`blobs/${firstRef.blobId}`)).toEqual([]);
    expect(await userItem('alice')).toMatchObject({ backupBlob: firstRef, backupVersion: 1 });
    expect((await userItem('alice')).backup).toBeUndefined();
    expect(await downloaded(alice)).toEqual({ version: 1, bytes: first });

    // A writer that missed version 1 is refused before its upload is copied anywhere.
    const stale = await upload(alice, randomBytes(30_000));
    expect(await putBackup(alice, { blob: stale, version: 1, replaces: 0 })).toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(/version 1, not 0/),
    });
    expect(await keys('backups/')).toEqual([`backups/${firstRef.blobId}`]);

    const second = randomBytes(50_000);
    const secondRef = await upload(alice, second);
    expect(await putBackup(alice, { blob: secondRef, version: 2, replaces: 1 })).toMatchObject({
      stored: true,
      version: 2,
    });
    expect(await keys('backups/')).toEqual([`backups/${secondRef.blobId}`]);
    expect(await downloaded(alice)).toEqual({ version: 2, bytes: second });

    // Back to inline (contacts removed): the kept blob is deleted too.
    const inline = randomBytes(1000).toString('base64');
    expect(await putBackup(alice, { backup: inline, version: 3, replaces: 2 })).toMatchObject({
      stored: true,
    });
    expect(await keys('backups/')).toEqual([]);
    expect(await alice.client.request('keys', { op: 'get-backup' })).toMatchObject({
      backup: inline,
      version: 3,
    });
  });

  it('refuses a reference to another user’s upload, a missing one, an unfinished one or a wrong digest', async () => {
    const current = ((await userItem('mallory')).backupVersion as number | undefined) ?? 0;
    const at = { version: current + 1, replaces: current };
    const alices = await upload(alice, randomBytes(30_000));
    expect(await putBackup(mallory, { blob: alices, ...at })).toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringMatching(/another user/),
    });
    const missing = { ...alices, blobId: 'A'.repeat(22) };
    expect(await putBackup(mallory, { blob: missing, ...at })).toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringMatching(/does not exist/),
    });
    const bytes = randomBytes(30_000);
    const unfinished = await upload(mallory, bytes, false);
    expect(await putBackup(mallory, { blob: unfinished, ...at })).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/not complete/),
    });
    const mine = await upload(mallory, bytes);
    const forged = { ...mine, digest: digestOf(randomBytes(30_000)) };
    expect(await putBackup(mallory, { blob: forged, ...at })).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/^DIGEST_MISMATCH/),
    });
    expect(
      await putBackup(mallory, { blob: { ...mine, size: mine.size - 1 }, ...at }),
    ).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/bytes, not the/) });
    // Nothing was stored or kept for any of them.
    expect((await userItem('mallory')).backupBlob).toBeUndefined();
    expect(await keys('backups/')).toEqual([]);
    // Above the cap, the frame is refused before any lookup.
    expect(
      await putBackup(mallory, { blob: { ...mine, size: MAX_BACKUP_BLOB_BYTES + 1 }, ...at }),
    ).toMatchObject({ code: 'BAD_REQUEST' });
    // Exactly one form: both, or neither, is a bad request.
    expect(await putBackup(mallory, { blob: mine, backup: 'AAAA', ...at })).toMatchObject({
      code: 'BAD_REQUEST',
    });
    expect(await putBackup(mallory, at)).toMatchObject({ code: 'BAD_REQUEST' });
    // The genuine reference is taken.
    expect(await putBackup(mallory, { blob: mine, ...at })).toMatchObject({ stored: true });
  });
});
