/**
 * Encrypted blobs through the local gateway, with the real SDK against dynalite and s3rver:
 * upload (single PUT and multipart, bytes PUT with fetch to the presigned URLs), completion,
 * sendfile with its grant and delivery, download only for the uploader and the granted.
 */
import { randomBytes } from 'node:crypto';
import {
  DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { LOCAL_BUCKET_NAME, localTableName } from '../../infra/local/names';
import { makeDynamoClient, makeS3Client } from '../../lambdas/runtime/aws';
import {
  BLOB_CONTENT_TYPE,
  BLOB_PART_BYTES,
  MAX_BLOB_BYTES,
  MAX_BLOB_PARTS,
  MAX_PART_URLS_PER_REPLY,
} from '../../protocol/blobs';
import {
  fakeEnvelope,
  goOffline,
  resumeUser,
  signupUser,
  type TestUser,
} from '../../tools/accounts';
import { startTestStack } from '../../tools/local-stack';
import { presignedParts } from '../support/sigv4';
import { TestClient } from '../../tools/ws-client';

let stack: LocalStack;
let url: string;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;

beforeAll(async () => {
  stack = await startTestStack();
  url = stack.endpoints.websocket;
  [alice, bob, carol] = (await Promise.all(
    ['alice', 'bob', 'carol'].map((name) => signupUser(url, name)),
  )) as [TestUser, TestUser, TestUser];
});
afterAll(() => stack.stop());

const db = () => DynamoDBDocumentClient.from(makeDynamoClient(stack.endpoints.dynamodb));
let counter = 0;
const messageId = () => `file-${Date.now()}-${counter++}`;

type PartUrl = { partNumber: number; size: number; url: string };
type Reply = Record<string, unknown>;

async function put(part: PartUrl, bytes: Uint8Array): Promise<string> {
  const response = await fetch(part.url, {
    method: 'PUT',
    headers: { 'content-type': BLOB_CONTENT_TYPE },
    body: new Uint8Array(bytes), // a copy typed on ArrayBuffer, as fetch wants
  });
  expect(response.status, await response.clone().text()).toBe(200);
  return response.headers.get('etag')!;
}

/** Uploads `bytes` the way a client does: start, PUT each part, complete. */
async function uploadBlob(user: TestUser, bytes: Uint8Array): Promise<string> {
  const started = await user.client.request('upload', { op: 'start', size: bytes.length });
  expect(started, JSON.stringify(started)).toMatchObject({ type: 'ok' });
  const urls = started.urls as PartUrl[];
  const etags = await Promise.all(
    urls.map((part) =>
      put(
        part,
        bytes.subarray(
          (part.partNumber - 1) * BLOB_PART_BYTES,
          (part.partNumber - 1) * BLOB_PART_BYTES + part.size,
        ),
      ),
    ),
  );
  const complete = await user.client.request('upload', {
    op: 'complete',
    blobId: started.blobId,
    ...(started.multipart ? { parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })) } : {}),
  });
  expect(complete, JSON.stringify(complete)).toMatchObject({ type: 'ok', duplicate: false });
  return started.blobId as string;
}

async function downloadBytes(user: TestUser, blobId: string): Promise<Buffer> {
  const reply = await user.client.request('download', { blobId });
  expect(reply, JSON.stringify(reply)).toMatchObject({ type: 'ok', blobId });
  const response = await fetch(reply.url as string);
  expect(response.status).toBe(200);
  return Buffer.from(await response.arrayBuffer());
}

async function blobItems(blobId: string): Promise<Record<string, unknown>[]> {
  const { Items } = await db().send(
    new QueryCommand({
      TableName: localTableName('blobs'),
      KeyConditionExpression: 'blobId = :b',
      ExpressionAttributeValues: { ':b': blobId },
      ConsistentRead: true,
    }),
  );
  return Items ?? [];
}

async function countItems(table: 'blobs' | 'inbox'): Promise<number> {
  const { Count } = await db().send(
    new ScanCommand({ TableName: localTableName(table), Select: 'COUNT', ConsistentRead: true }),
  );
  return Count ?? 0;
}

async function inboxOf(userId: string, id: string) {
  const { Items } = await db().send(
    new QueryCommand({
      TableName: localTableName('inbox'),
      KeyConditionExpression: 'userId = :u',
      ExpressionAttributeValues: { ':u': userId },
      ConsistentRead: true,
    }),
  );
  return (Items ?? []).filter((item) => item.messageId === id);
}

const isFileMessage = (from: string, id: string) => (m: Reply) =>
  m.type === 'message' && m.from === from && m.messageId === id;

describe('upload', () => {
  it('fixes size and parts up front: a small blob is one PUT of its exact size, short-lived', async () => {
    const started = await alice.client.request('upload', { op: 'start', size: 1000 });
    expect(started).toMatchObject({
      type: 'ok',
      blobId: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      size: 1000,
      partSize: 1000,
      partCount: 1,
      multipart: false,
    });
    const [part] = started.urls as PartUrl[];
    expect(part).toMatchObject({ partNumber: 1, size: 1000 });
    const signed = presignedParts(part!.url);
    expect(signed.signedHeaders).toEqual(
      expect.arrayContaining(['content-length', 'content-type']),
    );
    expect(signed.expiresSeconds).toBeLessThanOrEqual(15 * 60);
    expect(part!.url.startsWith(`${stack.endpoints.s3}/${LOCAL_BUCKET_NAME}/blobs/`)).toBe(true);
    expect(started.urlsExpireAt).toBeLessThanOrEqual(Date.now() + 15 * 60 * 1000);

    const [meta] = await blobItems(started.blobId as string);
    expect(meta).toMatchObject({
      sk: 'meta',
      owner: 'alice',
      size: 1000,
      partCount: 1,
      state: 'uploading',
    });
    // Re-signing a single PUT gives a fresh PUT URL for the whole blob, still of exactly 1000 bytes.
    const again = await alice.client.request('upload', {
      op: 'sign',
      blobId: started.blobId,
      parts: [1],
    });
    expect(again.urls).toEqual([{ partNumber: 1, size: 1000, url: expect.any(String) }]);
    expect(new URL((again.urls as PartUrl[])[0]!.url).searchParams.has('uploadId')).toBe(false);
    // 30 days of retention, as a TTL in epoch seconds.
    expect((meta!.expiresAt as number) - Date.now() / 1000).toBeGreaterThan(29.9 * 86400);
  });

  it('stores the bytes intact through a single presigned PUT and GET', async () => {
    const bytes = randomBytes(300_000);
    const blobId = await uploadBlob(alice, bytes);
    expect((await downloadBytes(alice, blobId)).equals(bytes)).toBe(true);
    expect((await blobItems(blobId))[0]).toMatchObject({ state: 'completed' });
  });

  it('uploads a multipart blob (two 8 MiB parts and a small last one) with its bytes intact', async () => {
    const bytes = randomBytes(2 * BLOB_PART_BYTES + 12_345);
    const started = await alice.client.request('upload', { op: 'start', size: bytes.length });
    expect(started).toMatchObject({ partSize: BLOB_PART_BYTES, partCount: 3, multipart: true });
    const urls = started.urls as PartUrl[];
    expect(urls.map((u) => [u.partNumber, u.size])).toEqual([
      [1, BLOB_PART_BYTES],
      [2, BLOB_PART_BYTES],
      [3, 12_345],
    ]);
    for (const part of urls)
      expect(presignedParts(part.url).signedHeaders).toContain('content-length');

    const etags = await Promise.all(
      urls.map((p) =>
        put(
          p,
          bytes.subarray(
            (p.partNumber - 1) * BLOB_PART_BYTES,
            (p.partNumber - 1) * BLOB_PART_BYTES + p.size,
          ),
        ),
      ),
    );
    const blobId = started.blobId as string;
    // Not yet complete: neither downloadable nor sendable.
    expect(await alice.client.request('download', { blobId })).toMatchObject({ code: 'CONFLICT' });

    expect(
      await alice.client.request('upload', {
        op: 'complete',
        blobId,
        parts: [{ partNumber: 1, etag: etags[0] }],
      }),
    ).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('1 to 3') });
    const parts = etags.map((etag, i) => ({ partNumber: i + 1, etag }));
    expect(await alice.client.request('upload', { op: 'complete', blobId, parts })).toMatchObject({
      type: 'ok',
      size: bytes.length,
      duplicate: false,
    });
    // A retried completion is harmless.
    expect(await alice.client.request('upload', { op: 'complete', blobId, parts })).toMatchObject({
      type: 'ok',
      duplicate: true,
    });
    expect((await downloadBytes(alice, blobId)).equals(bytes)).toBe(true);
  });

  it('re-issues part URLs for the owner of an unfinished upload only', async () => {
    const size = 3 * BLOB_PART_BYTES + 10;
    const started = await alice.client.request('upload', { op: 'start', size });
    const blobId = started.blobId as string;
    const again = await alice.client.request('upload', { op: 'sign', blobId, parts: [4, 2, 2] });
    expect(again).toMatchObject({ type: 'ok', blobId });
    const urls = again.urls as PartUrl[];
    expect(urls.map((u) => [u.partNumber, u.size])).toEqual([
      [2, BLOB_PART_BYTES],
      [4, 10],
    ]);
    expect(new URL(urls[1]!.url).searchParams.get('partNumber')).toBe('4');
    expect(presignedParts(urls[1]!.url).signedHeaders).toContain('content-length');

    expect(await carol.client.request('upload', { op: 'sign', blobId, parts: [1] })).toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await alice.client.request('upload', { op: 'sign', blobId, parts: [5] })).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('1 to 4'),
    });
    expect(
      await alice.client.request('upload', { op: 'sign', blobId: 'A'.repeat(22), parts: [1] }),
    ).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses re-signing a completed blob: its bytes can no longer change', async () => {
    const blobId = await uploadBlob(alice, randomBytes(64));
    expect(await alice.client.request('upload', { op: 'sign', blobId, parts: [1] })).toMatchObject({
      code: 'CONFLICT',
    });
  });

  it('caps the size at 2 GiB (TOO_LARGE above, nothing stored) and hands out URLs in batches of 16', async () => {
    const before = await countItems('blobs');
    const tooLarge = await alice.client.request('upload', {
      op: 'start',
      size: MAX_BLOB_BYTES + 1,
    });
    expect(tooLarge).toMatchObject({
      code: 'TOO_LARGE',
      message: expect.stringContaining('2 GiB'),
    });
    expect(await alice.client.request('upload', { op: 'start', size: 0 })).toMatchObject({
      code: 'BAD_REQUEST',
    });
    expect(await alice.client.request('upload', { op: 'start', size: 1.5 })).toMatchObject({
      code: 'BAD_REQUEST',
    });
    expect(await countItems('blobs')).toBe(before);

    const largest = await alice.client.request('upload', { op: 'start', size: MAX_BLOB_BYTES });
    expect(largest).toMatchObject({ type: 'ok', partCount: MAX_BLOB_PARTS, multipart: true });
    expect((largest.urls as PartUrl[]).map((u) => u.partNumber)).toEqual(
      Array.from({ length: MAX_PART_URLS_PER_REPLY }, (_, i) => i + 1),
    );
    const rest = await alice.client.request('upload', {
      op: 'sign',
      blobId: largest.blobId,
      parts: [17, MAX_BLOB_PARTS],
    });
    expect((rest.urls as PartUrl[]).map((u) => u.size)).toEqual([BLOB_PART_BYTES, BLOB_PART_BYTES]);
    expect(
      await alice.client.request('upload', {
        op: 'sign',
        blobId: largest.blobId,
        parts: Array.from({ length: MAX_PART_URLS_PER_REPLY + 1 }, (_, i) => i + 1),
      }),
    ).toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('completes only when the stored size is the announced one (s3rver does not enforce the signed length)', async () => {
    const started = await alice.client.request('upload', { op: 'start', size: 5000 });
    const blobId = started.blobId as string;
    const [part] = started.urls as PartUrl[];
    expect(await alice.client.request('upload', { op: 'complete', blobId })).toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('No bytes'),
    });
    await put(part!, randomBytes(4000)); // AWS would refuse this PUT; s3rver stores it
    expect(await alice.client.request('upload', { op: 'complete', blobId })).toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('5000'),
    });
    const s3 = makeS3Client(stack.endpoints.s3);
    await expect(
      s3.send(new HeadObjectCommand({ Bucket: LOCAL_BUCKET_NAME, Key: `blobs/${blobId}` })),
    ).rejects.toMatchObject({ name: 'NotFound' });
    expect((await blobItems(blobId))[0]).toMatchObject({ state: 'uploading' });

    const bytes = randomBytes(5000);
    await put(part!, bytes);
    expect(await alice.client.request('upload', { op: 'complete', blobId })).toMatchObject({
      type: 'ok',
    });
    expect((await downloadBytes(alice, blobId)).equals(bytes)).toBe(true);
  });

  it('forgets a multipart upload whose parts add up to the wrong size', async () => {
    const size = BLOB_PART_BYTES + 100;
    const started = await alice.client.request('upload', { op: 'start', size });
    const blobId = started.blobId as string;
    const [first, second] = started.urls as PartUrl[];
    const etags = [
      await put(first!, randomBytes(BLOB_PART_BYTES)),
      await put(second!, randomBytes(99)),
    ];
    expect(
      await alice.client.request('upload', {
        op: 'complete',
        blobId,
        parts: etags.map((etag, i) => ({ partNumber: i + 1, etag })),
      }),
    ).toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('Start a new upload') });
    expect(await blobItems(blobId)).toEqual([]);
    expect(await alice.client.request('download', { blobId })).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('treats an unfinished upload older than a day as gone, and an expired blob as absent', async () => {
    const now = Date.now();
    const stale = 'S'.repeat(22);
    const expired = 'E'.repeat(22);
    await db().send(
      new PutCommand({
        TableName: localTableName('blobs'),
        Item: {
          blobId: stale,
          sk: 'meta',
          owner: 'alice',
          size: 10,
          partSize: 10,
          partCount: 1,
          state: 'uploading',
          createdAt: now - 25 * 3600_000,
          expiresAt: Math.ceil(now / 1000) + 86400,
        },
      }),
    );
    await db().send(
      new PutCommand({
        TableName: localTableName('blobs'),
        Item: {
          blobId: expired,
          sk: 'meta',
          owner: 'alice',
          size: 10,
          partSize: 10,
          partCount: 1,
          state: 'completed',
          createdAt: now - 31 * 86400_000,
          expiresAt: Math.floor(now / 1000) - 10,
        },
      }),
    );
    expect(
      await alice.client.request('upload', { op: 'sign', blobId: stale, parts: [1] }),
    ).toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('Start a new upload'),
    });
    expect(await alice.client.request('download', { blobId: expired })).toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(
      await alice.client.request('sendfile', {
        to: 'bob',
        messageId: messageId(),
        blobId: expired,
        envelope: fakeEnvelope(),
      }),
    ).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('needs a bound connection', async () => {
    const stranger = await TestClient.connect(url);
    expect(await stranger.request('upload', { op: 'start', size: 10 })).toMatchObject({
      code: 'UNAUTHENTICATED',
    });
    expect(await stranger.request('download', { blobId: 'A'.repeat(22) })).toMatchObject({
      code: 'UNAUTHENTICATED',
    });
    stranger.close();
  });

  it('rate-limits starting uploads per user', async () => {
    const frank = await signupUser(url, 'frank');
    const replies = await Promise.all(
      Array.from({ length: 31 }, () => frank.client.request('upload', { op: 'start', size: 1 })),
    );
    expect(replies.filter((r) => r.type === 'ok')).toHaveLength(30);
    expect(replies.filter((r) => r.code === 'RATE_LIMITED')).toHaveLength(1);
    frank.client.close();
  });
});

describe('sendfile and download', () => {
  it('sends a completed blob: the recipient gets the file message live, and only it (and the owner) may download', async () => {
    const bytes = randomBytes(200_000);
    const blobId = await uploadBlob(alice, bytes);
    expect(await bob.client.request('download', { blobId })).toMatchObject({ code: 'FORBIDDEN' });

    const id = messageId();
    const envelope = fakeEnvelope(400);
    const sent = await alice.client.request('sendfile', {
      to: 'bob',
      messageId: id,
      blobId,
      envelope,
    });
    expect(sent).toMatchObject({
      type: 'ok',
      messageId: id,
      blobId,
      duplicate: false,
      deliveredTo: 1,
    });
    expect(sent).not.toHaveProperty('seq');
    const pushed = await bob.client.waitFor(isFileMessage('alice', id));
    expect(pushed).toMatchObject({ envelope, stream: 'inbox' });

    expect((await downloadBytes(bob, blobId)).equals(bytes)).toBe(true);
    expect(await carol.client.request('download', { blobId })).toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining('only its uploader'),
    });
    expect((await blobItems(blobId)).map((i) => i.sk).sort()).toEqual(['grant#bob', 'meta']);
  });

  it('is idempotent per message id', async () => {
    const blobId = await uploadBlob(alice, randomBytes(100));
    const id = messageId();
    const envelope = fakeEnvelope();
    const first = await alice.client.request('sendfile', {
      to: 'carol',
      messageId: id,
      blobId,
      envelope,
    });
    expect(first).toMatchObject({ type: 'ok', duplicate: false });
    const retry = await alice.client.request('sendfile', {
      to: 'carol',
      messageId: id,
      blobId,
      envelope,
    });
    expect(retry).toMatchObject({ type: 'ok', duplicate: true });
    expect((await inboxOf('carol', id)).filter((item) => item.kind !== 'skipped')).toHaveLength(1);
    expect((await blobItems(blobId)).filter((i) => i.sk === 'grant#carol')).toHaveLength(1);
  });

  it("refuses someone else's blob, an incomplete blob and unknown names, writing nothing", async () => {
    const alicesBlob = await uploadBlob(alice, randomBytes(100));
    const started = await alice.client.request('upload', { op: 'start', size: 100 });
    const unfinished = started.blobId as string;
    const blobsBefore = await countItems('blobs');
    const inboxBefore = await countItems('inbox');
    const attempt = (client: TestClient, fields: object) =>
      client.request('sendfile', { messageId: messageId(), envelope: fakeEnvelope(), ...fields });

    expect(await attempt(carol.client, { to: 'bob', blobId: alicesBlob })).toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining('you uploaded yourself'),
    });
    expect(await attempt(alice.client, { to: 'bob', blobId: unfinished })).toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('not complete'),
    });
    expect(await attempt(alice.client, { to: 'bob', blobId: 'Z'.repeat(22) })).toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await attempt(alice.client, { to: 'nobody-at-all', blobId: alicesBlob })).toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('nobody-at-all'),
    });
    expect(await attempt(alice.client, { to: 'bob', blobId: 'not-a-blob-id' })).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('blobId'),
    });
    expect(await countItems('blobs')).toBe(blobsBefore);
    expect(await countItems('inbox')).toBe(inboxBefore);
    expect(await carol.client.request('download', { blobId: alicesBlob })).toMatchObject({
      code: 'FORBIDDEN',
    });
  });

  it('delivers a file to an offline user at reconnect, who can then download it', async () => {
    const erin = await signupUser(url, 'erin');
    await goOffline(stack.endpoints.dynamodb, erin);

    const bytes = randomBytes(BLOB_PART_BYTES + 1); // multipart: 8 MiB + 1 byte
    const blobId = await uploadBlob(alice, bytes);
    const id = messageId();
    const envelope = fakeEnvelope();
    expect(
      await alice.client.request('sendfile', { to: 'erin', messageId: id, blobId, envelope }),
    ).toMatchObject({ type: 'ok', deliveredTo: 0 });

    const back = await resumeUser(url, erin);
    expect(back.page.events).toEqual([expect.objectContaining({ messageId: id, envelope })]);
    expect((await downloadBytes({ ...erin, client: back.client }, blobId)).equals(bytes)).toBe(
      true,
    );
    back.client.close();
  });
});
