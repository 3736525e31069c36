/**
 * sendgroupfile through the local gateway: a completed blob of the sender reaches every member of
 * the group (live, and at reconnect), every member but no outsider may download it, and a refused
 * frame grants nothing.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { localTableName } from '../../infra/local/names';
import { makeDynamoClient } from '../../lambdas/runtime/aws';
import { BLOB_CONTENT_TYPE } from '../../protocol/blobs';
import { fakeEnvelope, goOffline, resumeUser, type TestUser } from '../../tools/accounts';
import { join, signupGroupUser, storeEpoch } from '../../tools/group-actors';
import { startTestStack } from '../../tools/local-stack';
import type { TestClient } from '../../tools/ws-client';

let stack: LocalStack;
let url: string;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let dave: TestUser;
let erin: TestUser;
const GROUP = 'holiday-photos';

let counter = 0;
const messageId = () => `gfile-${Date.now()}-${counter++}`;
const db = () => DynamoDBDocumentClient.from(makeDynamoClient(stack.endpoints.dynamodb));

beforeAll(async () => {
  stack = await startTestStack();
  url = stack.endpoints.websocket;
  [alice, bob, carol, dave, erin] = (await Promise.all(
    ['alice', 'bob', 'carol', 'dave', 'erin'].map((name) => signupGroupUser(url, name)),
  )) as [TestUser, TestUser, TestUser, TestUser, TestUser];
  for (const user of [alice, bob, carol, erin]) {
    const joined = await join(user, GROUP);
    expect(joined, JSON.stringify(joined)).toMatchObject({ type: 'ok' });
  }
  // Epoch 1 (alice alone), then epoch 2 adding the others: the epoch the files go in.
  expect(await storeEpoch(alice, GROUP)).toMatchObject({ type: 'ok', epoch: 1 });
  const stored = await storeEpoch(alice, GROUP);
  expect(stored, JSON.stringify(stored)).toMatchObject({ type: 'ok', epoch: 2, current: true });
});
afterAll(() => stack.stop());

async function uploadBlob(user: TestUser, bytes: Uint8Array): Promise<string> {
  const started = await user.client.request('upload', { op: 'start', size: bytes.length });
  const [part] = started.urls as { url: string }[];
  const response = await fetch(part!.url, {
    method: 'PUT',
    headers: { 'content-type': BLOB_CONTENT_TYPE },
    body: new Uint8Array(bytes),
  });
  expect(response.status).toBe(200);
  expect(
    await user.client.request('upload', { op: 'complete', blobId: started.blobId }),
  ).toMatchObject({ type: 'ok' });
  return started.blobId as string;
}

async function downloadBytes(client: TestClient, blobId: string): Promise<Buffer> {
  const reply = await client.request('download', { blobId });
  expect(reply, JSON.stringify(reply)).toMatchObject({ type: 'ok' });
  return Buffer.from(await (await fetch(reply.url as string)).arrayBuffer());
}

async function grantsOf(blobId: string): Promise<string[]> {
  const { Items } = await db().send(
    new QueryCommand({
      TableName: localTableName('blobs'),
      KeyConditionExpression: 'blobId = :b AND begins_with(sk, :g)',
      ExpressionAttributeValues: { ':b': blobId, ':g': 'grant#' },
      ConsistentRead: true,
    }),
  );
  return (Items ?? []).map((item) => item.userId as string).sort();
}

const isGroupFile = (id: string) => (m: Record<string, unknown>) =>
  m.type === 'group-message' && m.messageId === id;

describe('sendgroupfile', () => {
  it('reaches every member live and at reconnect; members may download, outsiders may not', async () => {
    await goOffline(stack.endpoints.dynamodb, erin);

    const bytes = randomBytes(50_000);
    const blobId = await uploadBlob(alice, bytes);
    const id = messageId();
    const envelope = fakeEnvelope(300);
    const sent = await alice.client.request('sendgroupfile', {
      groupId: GROUP,
      epoch: 2,
      messageId: id,
      blobId,
      envelope,
    });
    expect(sent).toMatchObject({
      type: 'ok',
      groupId: GROUP,
      epoch: 2,
      messageId: id,
      blobId,
      duplicate: false,
      recipients: 3,
      deliveredTo: 2,
    });
    for (const member of [bob, carol]) {
      expect(await member.client.waitFor(isGroupFile(id))).toMatchObject({
        from: 'alice',
        groupId: GROUP,
        epoch: 2,
        envelope,
      });
      expect((await downloadBytes(member.client, blobId)).equals(bytes)).toBe(true);
    }
    expect(await grantsOf(blobId)).toEqual(['bob', 'carol', 'erin']);
    expect(await dave.client.request('download', { blobId })).toMatchObject({
      code: 'FORBIDDEN',
    });

    const back = await resumeUser(url, erin);
    expect(back.page.events.find(isGroupFile(id))).toMatchObject({
      envelope,
      from: 'alice',
      stream: `g:${GROUP}`,
      seq: expect.any(Number),
    });
    expect((await downloadBytes(back.client, blobId)).equals(bytes)).toBe(true);
    erin.client = back.client;
  });

  it('is idempotent per message id', async () => {
    const blobId = await uploadBlob(alice, randomBytes(100));
    const frame = {
      groupId: GROUP,
      epoch: 2,
      messageId: messageId(),
      blobId,
      envelope: fakeEnvelope(),
    };
    const first = await alice.client.request('sendgroupfile', frame);
    const retry = await alice.client.request('sendgroupfile', frame);
    expect(first).toMatchObject({ type: 'ok', duplicate: false });
    expect(retry).toMatchObject({ type: 'ok', duplicate: true, sentAt: first.sentAt });
    await bob.client.waitFor(isGroupFile(frame.messageId));
  });

  it('refuses an outsider, a stale epoch, an unknown group and a blob of someone else, granting nothing', async () => {
    const davesBlob = await uploadBlob(dave, randomBytes(100));
    const alicesBlob = await uploadBlob(alice, randomBytes(100));
    const unfinished = (await alice.client.request('upload', { op: 'start', size: 10 }))
      .blobId as string;
    const attempt = (user: TestUser, fields: object) =>
      user.client.request('sendgroupfile', {
        groupId: GROUP,
        epoch: 2,
        messageId: messageId(),
        envelope: fakeEnvelope(),
        ...fields,
      });

    expect(await attempt(dave, { blobId: davesBlob })).toMatchObject({ code: 'FORBIDDEN' });
    expect(await attempt(alice, { blobId: alicesBlob, epoch: 3 })).toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('current epoch is 2'),
    });
    expect(await attempt(alice, { blobId: alicesBlob, groupId: 'no-such-group' })).toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await attempt(bob, { blobId: alicesBlob })).toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining('you uploaded yourself'),
    });
    expect(await attempt(alice, { blobId: unfinished })).toMatchObject({ code: 'CONFLICT' });
    expect(await grantsOf(davesBlob)).toEqual([]);
    expect(await grantsOf(alicesBlob)).toEqual([]);
    expect(await bob.client.request('download', { blobId: alicesBlob })).toMatchObject({
      code: 'FORBIDDEN',
    });
  });
});
