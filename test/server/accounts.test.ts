/** signup, signin, resume and the unbound-connection rule, through the local gateway. */
import { GetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { localTableName } from '../../infra/local/names';
import { makeDynamoClient } from '../../lambdas/runtime/aws';
import { hashToken } from '../../lambdas/shared/sessions';
import { PRODUCTION_LIMITS } from '../../lambdas/shared/limits';
import { COMMAND_ROUTES, UNBOUND_ROUTES, type CommandRoute } from '../../protocol/routes';
import { newAuthKey, newDeviceId, signupUser } from '../../tools/accounts';
import { startTestStack } from '../../tools/local-stack';
import { TestClient } from '../../tools/ws-client';

let stack: LocalStack;
let url: string;
beforeAll(async () => {
  stack = await startTestStack();
  url = stack.endpoints.websocket;
});
afterAll(() => stack.stop());

const db = () => DynamoDBDocumentClient.from(makeDynamoClient(stack.endpoints.dynamodb));

describe('signup', () => {
  it('creates an account, binds the connection and stores neither the auth key nor the token', async () => {
    const alice = await signupUser(url, 'Alice');
    const { Item } = await db().send(
      new GetCommand({ TableName: localTableName('users'), Key: { userId: 'alice' } }),
    );
    expect(Item).toBeDefined();
    expect(JSON.stringify(Item)).not.toContain(alice.authKey);
    expect(Item!.authHash).not.toBe(alice.authKey);
    const session = await db().send(
      new GetCommand({
        TableName: localTableName('sessions'),
        Key: { tokenHash: hashToken(alice.token!) },
      }),
    );
    expect(session.Item).toMatchObject({ userId: 'alice', deviceId: alice.deviceId });
    expect(JSON.stringify(session.Item)).not.toContain(alice.token);
    alice.client.close();
  });

  it('refuses a taken name (whatever its case) with CONFLICT, and a malformed one with BAD_REQUEST', async () => {
    await signupUser(url, 'bob');
    const client = await TestClient.connect(url);
    expect(
      await client.request('signup', {
        username: 'BOB',
        authKey: newAuthKey(),
        deviceId: newDeviceId(),
      }),
    ).toMatchObject({
      type: 'error',
      code: 'CONFLICT',
      message: expect.stringContaining('taken'),
    });
    expect(
      await client.request('signup', {
        username: 'no spaces!',
        authKey: newAuthKey(),
        deviceId: newDeviceId(),
      }),
    ).toMatchObject({
      type: 'error',
      code: 'BAD_REQUEST',
    });
    expect(
      await client.request('signup', {
        username: 'carol',
        authKey: 'short',
        deviceId: newDeviceId(),
      }),
    ).toMatchObject({
      type: 'error',
      code: 'BAD_REQUEST',
      message: expect.stringContaining('authKey'),
    });
    client.close();
  });
});

describe('signin', () => {
  it('answers a wrong password and an unknown user with the same INVALID_CREDENTIALS', async () => {
    await signupUser(url, 'dave');
    const client = await TestClient.connect(url);
    const wrongPassword = await client.request('signin', {
      username: 'dave',
      authKey: newAuthKey(),
      deviceId: newDeviceId(),
    });
    const unknownUser = await client.request('signin', {
      username: 'nobody-here',
      authKey: newAuthKey(),
      deviceId: newDeviceId(),
    });
    expect(wrongPassword).toMatchObject({ type: 'error', code: 'INVALID_CREDENTIALS' });
    expect(unknownUser.code).toBe(wrongPassword.code);
    expect(unknownUser.message).toBe(wrongPassword.message);
    client.close();
  });

  it('backs off after repeated failures without locking the right password out for good', async () => {
    const erin = await signupUser(url, 'erin');
    const client = await TestClient.connect(url);
    for (let i = 0; i < PRODUCTION_LIMITS.signinFreePerAccount; i++) {
      expect(
        (
          await client.request('signin', {
            username: 'erin',
            authKey: newAuthKey(),
            deviceId: newDeviceId(),
          })
        ).code,
      ).toBe('INVALID_CREDENTIALS');
    }
    const limited = await client.request('signin', {
      username: 'erin',
      authKey: erin.authKey,
      deviceId: newDeviceId(),
    });
    expect(limited).toMatchObject({
      code: 'RATE_LIMITED',
      message: expect.stringMatching(/Wait \d+ s/),
    });
    // Wait what the refusal says plus a second: the back-off counts from the failure's time on the
    // server, which a loaded machine records later than this test sees the refusal.
    const waitSeconds = Number(/Wait (\d+) s/.exec(String(limited.message))![1]);
    expect(waitSeconds * 1000).toBeGreaterThanOrEqual(PRODUCTION_LIMITS.signinBaseDelayMs);
    await new Promise((resolve) => setTimeout(resolve, waitSeconds * 1000 + 1000));
    expect(
      await client.request('signin', {
        username: 'erin',
        authKey: erin.authKey,
        deviceId: newDeviceId(),
      }),
    ).toMatchObject({ type: 'ok' });
    client.close();
  });
});

/** A valid frame for every route that needs a signed-in connection (the compiler wants them all). */
const SAMPLE_FRAMES: Record<Exclude<CommandRoute, (typeof UNBOUND_ROUTES)[number]>, object> = {
  ping: {},
  signout: {},
  devices: { op: 'list' },
  password: { authKey: newAuthKey(), newAuthKey: newAuthKey() },
  block: { op: 'add', userId: 'alice' },
  keys: { op: 'fetch', userId: 'alice' },
  send: { to: 'alice', messageId: 'msg-00000001', envelope: 'AAAA' },
  ack: { through: { inbox: 1 } },
  create: { groupId: 'room' },
  join: { groupId: 'room', request: 'AAAA' },
  leave: { groupId: 'room', request: 'AAAA' },
  remove: { groupId: 'room', userId: 'alice', request: 'AAAA' },
  add: { groupId: 'room', userId: 'alice', request: 'AAAA' },
  list: {},
  members: { groupId: 'room' },
  sharekey: { op: 'fetch', groupId: 'room' },
  sendgroup: { groupId: 'room', epoch: 1, messageId: 'msg-00000001', envelope: 'AAAA' },
  upload: { op: 'start', size: 10 },
  download: { blobId: 'A'.repeat(22) },
  sendfile: { to: 'alice', messageId: 'msg-00000001', blobId: 'A'.repeat(22), envelope: 'AAAA' },
  sendgroupfile: {
    groupId: 'room',
    epoch: 1,
    messageId: 'msg-00000001',
    blobId: 'A'.repeat(22),
    envelope: 'AAAA',
  },
};

describe('unbound connections and resume', () => {
  it('may call only signup, signin and resume: every other route answers UNAUTHENTICATED', async () => {
    const client = await TestClient.connect(stack.endpoints.websocket);
    expect(Object.keys(SAMPLE_FRAMES).sort()).toEqual(
      COMMAND_ROUTES.filter(
        (route) => !(UNBOUND_ROUTES as readonly string[]).includes(route),
      ).sort(),
    );
    for (const [action, fields] of Object.entries(SAMPLE_FRAMES)) {
      const reply = await client.request(action, fields);
      expect(reply, action).toMatchObject({ type: 'error', code: 'UNAUTHENTICATED' });
    }
    client.close();
  });

  it('binds a new connection with a session token, only for its own device', async () => {
    const frank = await signupUser(url, 'frank');
    frank.client.close();
    const again = await TestClient.connect(url);
    expect(
      await again.request('resume', { token: frank.token, deviceId: 'another-device' }),
    ).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(
      await again.request('resume', { token: 'A'.repeat(43), deviceId: frank.deviceId }),
    ).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(
      await again.request('resume', { token: frank.token, deviceId: frank.deviceId }),
    ).toMatchObject({ type: 'ok', userId: 'frank' });
    expect(await again.request('keys', { op: 'get-backup' })).toMatchObject({ code: 'NOT_FOUND' });
    again.close();
  });
});
