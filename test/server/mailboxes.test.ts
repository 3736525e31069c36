/**
 * Mailbox items (issue 10 point 2): a user's live connections are found by reading its mailbox
 * after the message is stored, so none falls between; a device has one connection and a user at
 * most USER_CONNECTION_CAP; $disconnect and 410s take connections out; users from before
 * mailboxes get one on first use, numbering on from their old counter.
 */
import { randomUUID } from 'node:crypto';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { localTableName } from '../../infra/local/names';
import { send } from '../../lambdas/commands/send';
import { USER_CONNECTION_CAP } from '../../lambdas/shared/sessions';
import { makeDynamoClient } from '../../lambdas/runtime/aws';
import { serverDeps } from '../../lambdas/runtime/deps';
import {
  fakeEnvelope,
  goOffline,
  resumeUser,
  signinDevice,
  signupUser,
  type TestUser,
} from '../../tools/accounts';
import { depsWith, directContext, withBoundConnection } from '../support/deps';
import { startTestStack } from '../../tools/local-stack';
import { TestClient } from '../../tools/ws-client';

let stack: LocalStack;
let url: string;
let alice: TestUser;

beforeAll(async () => {
  stack = await startTestStack();
  url = stack.endpoints.websocket;
  alice = await signupUser(url, 'alice');
});
afterAll(() => stack.stop());

const db = () => DynamoDBDocumentClient.from(makeDynamoClient(stack.endpoints.dynamodb));
const mailboxOf = async (userId: string) =>
  (
    await db().send(
      new GetCommand({
        TableName: localTableName('mailboxes'),
        Key: { userId },
        ConsistentRead: true,
      }),
    )
  ).Item;
const listedConnections = async (userId: string) =>
  Object.keys((await mailboxOf(userId)) ?? {}).filter((name) => name.startsWith('c#'));
const isOpen = (client: TestClient) => client.socket.readyState === client.socket.OPEN;

/** Waits (bounded) until at most `count` of the clients are still open. */
async function untilOpenAtMost(clients: readonly TestClient[], count: number): Promise<number> {
  for (let i = 0; i < 200 && clients.filter(isOpen).length > count; i++)
    await new Promise((resolve) => setTimeout(resolve, 50));
  return clients.filter(isOpen).length;
}

const sendFromAlice = (to: string) =>
  alice.client.request('send', { to, messageId: randomUUID(), envelope: fakeEnvelope(40) });

describe('lookup after write', () => {
  it('pushes to a device that binds after the message took its number and before it was stored', async () => {
    const bob = await signupUser(url, 'bob');
    await goOffline(stack.endpoints.dynamodb, bob);
    const real = serverDeps();
    let device: Awaited<ReturnType<typeof resumeUser>> | undefined;
    const deps = depsWith({
      connections: withBoundConnection(real.connections, {
        connectionId: 'direct-sender',
        userId: 'alice',
        deviceId: 'alice-desk',
        connectedAt: 0,
        expiresAt: Number.MAX_SAFE_INTEGER,
      }),
      inbox: {
        appendAt: async (...args) => {
          // bob's device binds now: its page is built before the message is stored.
          device = await resumeUser(url, bob);
          return real.inbox.appendAt(...args);
        },
        after: (...args) => real.inbox.after(...args),
        markReceipted: (...args) => real.inbox.markReceipted(...args),
        recordDropped: (...args) => real.inbox.recordDropped(...args),
      },
    });
    const id = randomUUID();
    const reply = await send(
      deps,
      { action: 'send', id: 'f1', to: 'bob', messageId: id, envelope: fakeEnvelope(40) },
      directContext(stack.endpoints.managementApi, 'direct-sender'),
    );
    expect(device!.page.events.some((event) => event.messageId === id)).toBe(false);
    expect(reply.deliveredTo).toBe(1);
    expect(await device!.client.waitFor((m) => m.messageId === id)).toMatchObject({
      type: 'message',
      from: 'alice',
    });
    device!.client.close();
  });
});

describe('caps at bind', () => {
  it('keeps one connection per device: one token binding 1015 connections leaves one, and a send reaches one', async () => {
    const carol = await signupUser(url, 'carol');
    const clients: TestClient[] = [carol.client];
    // A connection may be closed by a newer bind before its own resume is answered.
    const bindOnce = async () => {
      const client = await TestClient.connect(url);
      const resumed = client
        .request('resume', { token: carol.token, deviceId: carol.deviceId }, 30_000)
        .catch(() => undefined);
      await Promise.race([resumed, client.closed]);
      return client;
    };
    for (let batch = 0; batch < 1014; batch += 8)
      clients.push(
        ...(await Promise.all(Array.from({ length: Math.min(8, 1014 - batch) }, bindOnce))),
      );
    expect(clients).toHaveLength(1015);
    expect(await untilOpenAtMost(clients, 1)).toBe(1);
    expect(await listedConnections('carol')).toHaveLength(1);
    expect(await sendFromAlice('carol')).toMatchObject({ type: 'ok', deliveredTo: 1 });
    const survivor = clients.find(isOpen)!;
    expect(await survivor.request('ping')).toMatchObject({ type: 'ok' });
    // The closed ones are unbound: a frame on one would be refused, and none is listed.
    for (const client of clients) if (client !== survivor) client.close();
  }, 180_000);

  it(`keeps at most ${USER_CONNECTION_CAP} connections per user, closing the oldest`, async () => {
    const dave = await signupUser(url, 'dave');
    const devices: TestUser[] = [dave];
    for (let i = 1; i < USER_CONNECTION_CAP + 2; i++) devices.push(await signinDevice(url, dave));
    const clients = devices.map((device) => device.client);
    expect(await untilOpenAtMost(clients, USER_CONNECTION_CAP)).toBe(USER_CONNECTION_CAP);
    // The first two (oldest) were closed.
    expect(clients.slice(0, 2).some(isOpen)).toBe(false);
    expect(await listedConnections('dave')).toHaveLength(USER_CONNECTION_CAP);
    expect(await sendFromAlice('dave')).toMatchObject({ deliveredTo: USER_CONNECTION_CAP });
    for (const client of clients) client.close();
  }, 120_000);
});

describe('connections leave the mailbox', () => {
  it('at $disconnect', async () => {
    const erin = await signupUser(url, 'erin');
    expect(await listedConnections('erin')).toHaveLength(1);
    await goOffline(stack.endpoints.dynamodb, erin);
    for (let i = 0; i < 100 && (await listedConnections('erin')).length > 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await listedConnections('erin')).toEqual([]);
    expect(await sendFromAlice('erin')).toMatchObject({ type: 'ok', deliveredTo: 0 });
  });
});

describe('users from before mailboxes', () => {
  it('get a mailbox on first use', async () => {
    const frank = await signupUser(url, 'frank');
    await goOffline(stack.endpoints.dynamodb, frank);
    // As before mailboxes: no mailbox item.
    await db().send(
      new DeleteCommand({ TableName: localTableName('mailboxes'), Key: { userId: 'frank' } }),
    );
    expect(await sendFromAlice('frank')).toMatchObject({ type: 'ok', deliveredTo: 0 });
    expect((await mailboxOf('frank'))!.seq).toBe(1);
    const { Item } = await db().send(
      new GetCommand({ TableName: localTableName('inbox'), Key: { userId: 'frank', seq: 1 } }),
    );
    expect(Item).toMatchObject({ kind: 'message', from: 'alice' });
  });

  it('get a mailbox when they bind first', async () => {
    const gina = await signupUser(url, 'gina');
    await goOffline(stack.endpoints.dynamodb, gina);
    await db().send(
      new DeleteCommand({ TableName: localTableName('mailboxes'), Key: { userId: 'gina' } }),
    );
    const back = await resumeUser(url, gina);
    expect(await listedConnections('gina')).toHaveLength(1);
    expect((await mailboxOf('gina'))!.seq).toBe(0);
    expect(await sendFromAlice('gina')).toMatchObject({ deliveredTo: 1 });
    expect(await back.client.waitFor((m) => m.type === 'message')).toMatchObject({ from: 'alice' });
    back.client.close();
  });
});
