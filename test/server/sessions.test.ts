/**
 * Sessions through the local gateway (issue 9, point 11): `signout`, `devices` (list, remove,
 * invite is in signin-throttle.test.ts), `password`, sliding `resume`, and `block`.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { localTableName } from '../../infra/local/names';
import { PRODUCTION_LIMITS } from '../../lambdas/shared/limits';
import { hashToken, sessionExpiry } from '../../lambdas/shared/sessions';
import { makeDynamoClient } from '../../lambdas/runtime/aws';
import { BLOB_CONTENT_TYPE } from '../../protocol/blobs';
import {
  fakeEnvelope,
  newAuthKey,
  newDeviceId,
  signinDevice,
  signupUser,
  type TestUser,
} from '../../tools/accounts';
import { startTestStack } from '../../tools/local-stack';
import { inboxItems } from '../support/tables';
import { TestClient } from '../../tools/ws-client';

/** A back-off that outlasts the file, so a locked account stays locked. */
const LIMITS = { signinBaseDelayMs: 10 * 60_000 } as const;

let stack: LocalStack;
let url: string;
beforeAll(async () => {
  stack = await startTestStack({ serverLimits: LIMITS });
  url = stack.endpoints.websocket;
});
afterAll(() => stack.stop());

const db = () => DynamoDBDocumentClient.from(makeDynamoClient(stack.endpoints.dynamodb));
const sessionItem = async (token: string) =>
  (
    await db().send(
      new GetCommand({
        TableName: localTableName('sessions'),
        Key: { tokenHash: hashToken(token) },
        ConsistentRead: true,
      }),
    )
  ).Item;
const resumeOn = async (user: TestUser) =>
  (await TestClient.connect(url)).request('resume', {
    token: user.token,
    deviceId: user.deviceId,
  });

/** Strangers use up the account's free attempts from another address: only a valid credential gets in. */
async function lockAccount(user: TestUser): Promise<void> {
  const stranger = await TestClient.connect(url, {}, '127.0.0.99');
  for (let i = 0; i < PRODUCTION_LIMITS.signinFreePerAccount; i++)
    await stranger.request('signin', {
      username: user.username,
      authKey: newAuthKey(),
      deviceId: newDeviceId(),
    });
  stranger.close();
}

/** Whether the credential still counts, on a locked account: RATE_LIMITED when it does not. */
async function credentialCounts(user: TestUser, authKey = user.authKey): Promise<boolean> {
  const client = await TestClient.connect(url, {}, '127.0.0.98');
  const reply = await client.request('signin', {
    username: user.username,
    authKey,
    deviceId: user.deviceId,
    deviceCredential: user.deviceCredential,
  });
  client.close();
  if (reply.type !== 'ok' && reply.code !== 'RATE_LIMITED') throw new Error(JSON.stringify(reply));
  return reply.type === 'ok';
}

describe('signout', () => {
  it('revokes the token and the credential and closes every connection of that session', async () => {
    const user = await signupUser(url, 'leaver');
    // A device has one connection at a time: the session resumed in a second tab closes the first.
    const secondTab = await TestClient.connect(url);
    expect(
      await secondTab.request('resume', { token: user.token, deviceId: user.deviceId }),
    ).toMatchObject({ type: 'ok' });
    expect((await user.client.closed).code).toBe(1000);
    // Another device of the account keeps its connection through this session's signout.
    const other = await signinDevice(url, user);
    await lockAccount(user);
    expect(await secondTab.request('signout')).toMatchObject({ type: 'ok', signedOut: true });
    // Unbound at once, closed right after the reply.
    expect(await secondTab.request('ping')).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await secondTab.closed).code).toBe(1000);
    expect(await other.client.request('ping')).toMatchObject({ type: 'ok' });
    other.client.close();
    expect(await sessionItem(user.token!)).toBeUndefined();
    expect(await resumeOn(user)).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await credentialCounts(user)).toBe(false);
  });
});

describe('resume', () => {
  it('slides the session expiry', async () => {
    const user = await signupUser(url, 'slider');
    const opened = await sessionItem(user.token!);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // TTLs are whole seconds
    const resumed = await resumeOn(user);
    expect(resumed).toMatchObject({ type: 'ok', deviceId: user.deviceId });
    expect(resumed.expiresAt as number).toBeGreaterThan(opened!.expiresAt * 1000);
    expect((await sessionItem(user.token!))!.expiresAt).toBe(
      Math.ceil((resumed.expiresAt as number) / 1000),
    );
  });

  it('never past the cap after the session opened', () => {
    const issuedAt = 1_000_000;
    const limits = PRODUCTION_LIMITS;
    expect(sessionExpiry(limits, issuedAt, issuedAt)).toBe(issuedAt + limits.sessionIdleMs);
    const late = issuedAt + limits.sessionMaxMs - 1000;
    expect(sessionExpiry(limits, issuedAt, late)).toBe(issuedAt + limits.sessionMaxMs);
  });
});

describe('devices', () => {
  it('lists the devices, and removing one ends its sessions, credential and connections', async () => {
    const phone = await signupUser(url, 'two-devices');
    const laptop = await signinDevice(url, phone);
    const listed = await phone.client.request('devices', { op: 'list' });
    expect(listed).toMatchObject({
      type: 'ok',
      devices: [
        { deviceId: phone.deviceId, current: true },
        { deviceId: laptop.deviceId, current: false },
      ],
    });
    await lockAccount(phone);
    expect(
      await phone.client.request('devices', { op: 'remove', deviceId: laptop.deviceId }),
    ).toMatchObject({ type: 'ok', removed: laptop.deviceId, disconnected: 1 });
    expect((await laptop.client.closed).code).toBe(1000);
    expect(await resumeOn(laptop)).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await credentialCounts(laptop)).toBe(false);
    expect(
      (await phone.client.request('devices', { op: 'list' })).devices as { deviceId: string }[],
    ).toEqual([expect.objectContaining({ deviceId: phone.deviceId })]);
    expect(
      await phone.client.request('devices', { op: 'remove', deviceId: laptop.deviceId }),
    ).toMatchObject({ code: 'NOT_FOUND' });
    // Last: signing the phone in binds its device's new connection, which closes this one.
    expect(await credentialCounts(phone)).toBe(true);
  });
});

describe('password', () => {
  it('needs the current key; then every other device is signed out and only the new key works', async () => {
    const phone = await signupUser(url, 'rotator');
    const laptop = await signinDevice(url, phone);
    const newKey = newAuthKey();
    expect(
      await phone.client.request('password', { authKey: newAuthKey(), newAuthKey: newKey }),
    ).toMatchObject({ code: 'INVALID_CREDENTIALS' });
    const changed = await phone.client.request('password', {
      authKey: phone.authKey,
      newAuthKey: newKey,
    });
    expect(changed).toMatchObject({
      type: 'ok',
      changed: true,
      disconnected: 1,
      deviceCredential: expect.any(String),
    });
    expect((await laptop.client.closed).code).toBe(1000);
    expect(await resumeOn(laptop)).toMatchObject({ code: 'UNAUTHENTICATED' });
    // This device stays signed in, and its session still resumes.
    expect(await phone.client.request('ping')).toMatchObject({ type: 'ok' });
    expect(await resumeOn(phone)).toMatchObject({ type: 'ok' });

    const fresh = await TestClient.connect(url);
    const signin = (authKey: string) =>
      fresh.request('signin', { username: 'rotator', authKey, deviceId: newDeviceId() });
    expect(await signin(phone.authKey)).toMatchObject({ code: 'INVALID_CREDENTIALS' });
    expect(await signin(newKey)).toMatchObject({ type: 'ok' });
    fresh.close();
    await lockAccount(phone);
    expect(await credentialCounts(laptop, newKey)).toBe(false);
    const renewed = { ...phone, deviceCredential: changed.deviceCredential as string };
    expect(await credentialCounts(renewed, newKey)).toBe(true);
  });
});

describe('block', () => {
  let blocker: TestUser;
  let pest: TestUser;
  let friend: TestUser;
  beforeAll(async () => {
    [blocker, pest, friend] = (await Promise.all(
      ['blocker', 'pest', 'friend'].map((name) => signupUser(url, name)),
    )) as [TestUser, TestUser, TestUser];
  });

  async function uploadTinyBlob(user: TestUser): Promise<string> {
    const started = await user.client.request('upload', { op: 'start', size: 16 });
    const [part] = started.urls as { url: string }[];
    await fetch(part!.url, {
      method: 'PUT',
      headers: { 'content-type': BLOB_CONTENT_TYPE },
      body: new Uint8Array(randomBytes(16)),
    });
    await user.client.request('upload', { op: 'complete', blobId: started.blobId });
    return started.blobId as string;
  }

  it('drops the blocked user’s messages and files silently: the sender’s reply looks like any other', async () => {
    expect(
      await blocker.client.request('block', { op: 'add', userId: 'PEST' }), // normalised
    ).toMatchObject({ type: 'ok', blocked: ['pest'] });

    const dropped = await pest.client.request('send', {
      to: 'blocker',
      messageId: 'blocked-00000001',
      envelope: fakeEnvelope(),
    });
    const accepted = await friend.client.request('send', {
      to: 'pest', // the same shape of reply for a recipient that is offline for this sender
      messageId: 'accepted-0000001',
      envelope: fakeEnvelope(),
    });
    await pest.client.waitFor((m) => m.type === 'message' && m.messageId === 'accepted-0000001');
    const shape = (reply: Record<string, unknown>) => Object.keys(reply).sort();
    expect(shape(dropped)).toEqual(shape(accepted));
    expect(dropped).toMatchObject({ type: 'ok', duplicate: false, deliveredTo: 0 });
    // A retry answers as a retry of an accepted message does.
    expect(
      await pest.client.request('send', {
        to: 'blocker',
        messageId: 'blocked-00000001',
        envelope: fakeEnvelope(),
      }),
    ).toMatchObject({ type: 'ok', duplicate: true, deliveredTo: 0 });

    const blobId = await uploadTinyBlob(pest);
    expect(
      await pest.client.request('sendfile', {
        to: 'blocker',
        messageId: 'blocked-file-0001',
        blobId,
        envelope: fakeEnvelope(),
      }),
    ).toMatchObject({ type: 'ok', duplicate: false, deliveredTo: 0, blobId });
    // The same checks as for anyone: a bad blob is refused, so the reply tells nothing.
    expect(
      await pest.client.request('sendfile', {
        to: 'blocker',
        messageId: 'blocked-file-0002',
        blobId: 'A'.repeat(22),
        envelope: fakeEnvelope(),
      }),
    ).toMatchObject({ code: 'NOT_FOUND' });
    expect(await blocker.client.request('download', { blobId })).toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await blocker.client.silentFor(300)).toBe(true);
    expect(
      (await inboxItems(stack.endpoints.dynamodb, 'blocker')).filter(
        (item) => item.from === 'pest',
      ),
    ).toEqual([]);

    // Others still get through; after unblocking, so does the pest.
    await friend.client.request('send', {
      to: 'blocker',
      messageId: 'friendly-0000001',
      envelope: fakeEnvelope(),
    });
    await blocker.client.waitFor((m) => m.type === 'message' && m.from === 'friend');
    expect(await blocker.client.request('block', { op: 'remove', userId: 'pest' })).toMatchObject({
      blocked: [],
    });
    await pest.client.request('send', {
      to: 'blocker',
      messageId: 'after-unblock-01',
      envelope: fakeEnvelope(),
    });
    await blocker.client.waitFor((m) => m.type === 'message' && m.from === 'pest');
  });

  it('lists, and refuses to block oneself or nobody', async () => {
    await blocker.client.request('block', { op: 'add', userId: 'friend' });
    expect(await blocker.client.request('block', { op: 'list' })).toMatchObject({
      blocked: ['friend'],
    });
    expect(await blocker.client.request('block', { op: 'add', userId: 'blocker' })).toMatchObject({
      code: 'BAD_REQUEST',
    });
    expect(
      await blocker.client.request('block', { op: 'add', userId: 'nobody-at-all' }),
    ).toMatchObject({ code: 'NOT_FOUND' });
  });
});
