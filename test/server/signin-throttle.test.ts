/**
 * Sign-in and sign-up throttling through the local gateway (issue 9, points 7, 8 and 9): attempts
 * are reserved before the password hash runs, a device credential is judged by its own counter,
 * sign-ups are limited per address. Each test connects from its own 127.0.0.x address, so the
 * per-address counters of one test do not leak into the next.
 */
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { localTableName } from '../../infra/local/names';
import { PRODUCTION_LIMITS } from '../../lambdas/shared/limits';
import { makeDynamoClient } from '../../lambdas/runtime/aws';
import { newAuthKey, newDeviceId, type TestUser } from '../../tools/accounts';
import { startTestStack } from '../../tools/local-stack';
import { TestClient } from '../../tools/ws-client';

/** Production values but: a wait that outlasts every test (no test waits it out), and few sign-ups. */
const LIMITS = {
  signinBaseDelayMs: 10 * 60_000,
  credentialRevokedAfterFailures: 3,
  signupsPerAddressPerHour: 3,
} as const;

/** 60 frames at once on a busy 2-core machine: replies may take longer than the usual 5 s. */
const BURST_REPLY_MS = 60_000;

let stack: LocalStack;
let url: string;
const clients: TestClient[] = [];
beforeAll(async () => {
  stack = await startTestStack({ serverLimits: LIMITS });
  url = stack.endpoints.websocket;
});
afterAll(async () => {
  for (const client of clients) client.close();
  await stack.stop();
});

/** A connection from 127.0.0.`host`: the gateway reports that as the source address. */
async function from(host: number): Promise<TestClient> {
  const client = await TestClient.connect(url, {}, `127.0.0.${host}`);
  clients.push(client);
  return client;
}

async function signupFrom(host: number, username: string): Promise<TestUser> {
  const client = await from(host);
  const user = { username, authKey: newAuthKey(), deviceId: newDeviceId(), client };
  const reply = await client.request('signup', {
    username,
    authKey: user.authKey,
    deviceId: user.deviceId,
  });
  expect(reply).toMatchObject({ type: 'ok' });
  return { ...user, deviceCredential: reply.deviceCredential as string | undefined };
}

const signin = (
  client: TestClient,
  user: Pick<TestUser, 'username'>,
  authKey: string,
  deviceId: string,
  deviceCredential?: string,
) =>
  client.request(
    'signin',
    { username: user.username, authKey, deviceId, ...(deviceCredential && { deviceCredential }) },
    BURST_REPLY_MS,
  );

/** `count` wrong sign-ins, one after the other; their codes. */
async function wrongSignins(client: TestClient, user: TestUser, count: number) {
  const codes: unknown[] = [];
  for (let i = 0; i < count; i++)
    codes.push((await signin(client, user, newAuthKey(), newDeviceId())).code);
  return codes;
}

const counter = async (key: string) =>
  (
    await DynamoDBDocumentClient.from(makeDynamoClient(stack.endpoints.dynamodb)).send(
      new GetCommand({
        TableName: localTableName('rateLimits'),
        Key: { key },
        ConsistentRead: true,
      }),
    )
  ).Item;

describe('sign-in attempts are reserved before the password hash runs (point 7)', () => {
  it(
    'judges 60 concurrent frames against one account by the allowance, not all against zero',
    {
      timeout: 2 * BURST_REPLY_MS,
    },
    async () => {
      const victim = await signupFrom(2, 'concurrent');
      const attacker = await from(3);
      const frames = Array.from({ length: 60 }, (_, i) =>
        signin(attacker, victim, i === 59 ? victim.authKey : newAuthKey(), newDeviceId()),
      );
      const replies = await Promise.all(frames);
      const codes = replies.map((reply) => (reply.type === 'ok' ? 'ok' : reply.code));
      const hashed = codes.filter((code) => code === 'INVALID_CREDENTIALS' || code === 'ok');
      // Only as many attempts reached scrypt as the account allows; every other was refused first.
      expect(hashed.length).toBeLessThanOrEqual(PRODUCTION_LIMITS.signinFreePerAccount);
      expect(codes.filter((code) => code === 'RATE_LIMITED').length).toBe(60 - hashed.length);
      const stored = await counter('fail#user#concurrent');
      expect(stored?.count ?? 0).toBeLessThanOrEqual(PRODUCTION_LIMITS.signinFreePerAccount);
    },
  );

  it('releases a successful attempt: the right key after a few wrong ones clears the account', async () => {
    const user = await signupFrom(4, 'forgetful');
    const client = await from(5);
    expect(await wrongSignins(client, user, 3)).toEqual(Array(3).fill('INVALID_CREDENTIALS'));
    expect(await signin(client, user, user.authKey, newDeviceId())).toMatchObject({ type: 'ok' });
    expect(await counter('fail#user#forgetful')).toBeUndefined();
    // The address keeps the failures (another account behind the same NAT may have made them).
    expect((await counter('fail#ip#127.0.0.5'))?.count).toBe(3);
  });
});

describe('device credentials (point 8)', () => {
  it('15 wrong sign-ins from one address do not keep a victim with a credential out from another', async () => {
    const victim = await signupFrom(10, 'victim');
    const attacker = await from(11);
    const codes = await wrongSignins(attacker, victim, 15);
    const free = PRODUCTION_LIMITS.signinFreePerAccount;
    expect(codes.slice(0, free)).toEqual(Array(free).fill('INVALID_CREDENTIALS'));
    expect(codes.slice(free)).toEqual(Array(15 - free).fill('RATE_LIMITED'));

    const elsewhere = await from(12);
    // Without its credential the victim is judged with the strangers...
    expect(await signin(elsewhere, victim, victim.authKey, newDeviceId())).toMatchObject({
      code: 'RATE_LIMITED',
    });
    // ...with it, by the credential's own counter.
    const reply = await signin(
      elsewhere,
      victim,
      victim.authKey,
      victim.deviceId,
      victim.deviceCredential,
    );
    expect(reply).toMatchObject({ type: 'ok', userId: 'victim', deviceId: victim.deviceId });
    // Each signin replaces the credential: the new one works, the old one counts as none.
    const renewed = reply.deviceCredential as string;
    expect(renewed).not.toBe(victim.deviceCredential);
    const again = await from(13);
    expect(
      await signin(again, victim, victim.authKey, victim.deviceId, victim.deviceCredential),
    ).toMatchObject({ code: 'RATE_LIMITED' });
    expect(await signin(again, victim, victim.authKey, victim.deviceId, renewed)).toMatchObject({
      type: 'ok',
    });
  });

  it('counts an invalid, foreign or misplaced credential as none, so it buys no fresh counter', async () => {
    const owner = await signupFrom(20, 'owner');
    const other = await signupFrom(20, 'other');
    await wrongSignins(await from(21), owner, PRODUCTION_LIMITS.signinFreePerAccount);
    const client = await from(22);
    const credential = owner.deviceCredential!;
    const tampered = `${credential.slice(0, -2)}${credential.endsWith('AA') ? 'AB' : 'AA'}`;
    for (const presented of [
      tampered, // MAC no longer verifies
      `dc1.${'A'.repeat(20)}.${'B'.repeat(43)}`, // made up
      other.deviceCredential!, // another user's
    ])
      expect(
        await signin(client, owner, owner.authKey, owner.deviceId, presented),
        presented,
      ).toMatchObject({ code: 'RATE_LIMITED' });
    // The owner's credential, but from another device id.
    expect(await signin(client, owner, owner.authKey, newDeviceId(), credential)).toMatchObject({
      code: 'RATE_LIMITED',
    });
    expect(await signin(client, owner, owner.authKey, owner.deviceId, credential)).toMatchObject({
      type: 'ok',
    });
  });

  it('revokes a credential after repeated failures', async () => {
    const user = await signupFrom(30, 'guessed');
    const thief = await from(31);
    for (let i = 0; i < LIMITS.credentialRevokedAfterFailures; i++)
      expect(
        await signin(thief, user, newAuthKey(), user.deviceId, user.deviceCredential),
      ).toMatchObject({ code: 'INVALID_CREDENTIALS' });
    // Revoked: now it counts as none. Lock the account, and even the right key is refused with it.
    await wrongSignins(await from(32), user, PRODUCTION_LIMITS.signinFreePerAccount);
    expect(
      await signin(await from(33), user, user.authKey, user.deviceId, user.deviceCredential),
    ).toMatchObject({ code: 'RATE_LIMITED' });
  });

  it('a one-time invite lets a new device in while strangers have the account locked', async () => {
    const user = await signupFrom(40, 'inviter');
    const invite = await user.client.request('devices', { op: 'invite' });
    expect(invite).toMatchObject({
      type: 'ok',
      credential: expect.any(String),
      expiresAt: expect.any(Number),
    });
    await wrongSignins(await from(41), user, PRODUCTION_LIMITS.signinFreePerAccount);
    const phone = await from(42);
    const newPhone = newDeviceId();
    expect(
      await signin(phone, user, user.authKey, newPhone, invite.credential as string),
    ).toMatchObject({ type: 'ok', deviceId: newPhone, deviceCredential: expect.any(String) });
    // Used up: a second device cannot use it again.
    expect(
      await signin(await from(43), user, user.authKey, newDeviceId(), invite.credential as string),
    ).toMatchObject({ code: 'RATE_LIMITED' });
  });
});

describe('sign-ups (point 9)', () => {
  it('are limited per source address, and other addresses are not affected', async () => {
    const client = await from(50);
    const signup = (username: string) =>
      client.request('signup', { username, authKey: newAuthKey(), deviceId: newDeviceId() });
    for (let i = 0; i < LIMITS.signupsPerAddressPerHour; i++)
      expect(await signup(`bulk-${i}`)).toMatchObject({ type: 'ok' });
    expect(await signup('bulk-extra')).toMatchObject({
      code: 'RATE_LIMITED',
      message: expect.stringContaining('Too many new accounts from your network'),
    });
    expect(
      await (
        await from(51)
      ).request('signup', {
        username: 'bulk-extra',
        authKey: newAuthKey(),
        deviceId: newDeviceId(),
      }),
    ).toMatchObject({ type: 'ok' });
  });

  it('allows 10 an hour per address in production', () => {
    expect(PRODUCTION_LIMITS.signupsPerAddressPerHour).toBe(10);
  });
});
