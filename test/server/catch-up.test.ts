/**
 * The catch-up contract (issue 11, protocol/catch-up.ts) through the local gateway, with clients
 * that do what the contract says and nothing cleverer: a backlog of several pages with live
 * messages arriving during catch-up, connection cuts in the middle of paging, two devices
 * catching up at once, acks for numbers far ahead. Every message arrives at least once, in seq
 * order per page, and the reply to `ack` says where the cursor stands.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { localTableName } from '../../infra/local/names';
import { makeDynamoClient } from '../../lambdas/runtime/aws';
import { PAGE_MAX_EVENTS } from '../../protocol/catch-up';
import {
  fakeEnvelope,
  goOffline,
  resumeUser,
  signinDevice,
  signupUser,
  type TestUser,
} from '../../tools/accounts';
import { CatchUpClient } from '../support/catch-up';
import type { WirePage } from '../../tools/wire-events';
import { join, signupGroupUser, storeEpoch } from '../../tools/group-actors';
import { startTestStack } from '../../tools/local-stack';

let stack: LocalStack;
let url: string;
/** Senders take turns: each stays under the per-user send limit (120 a minute). */
let senders: TestUser[];

beforeAll(async () => {
  stack = await startTestStack();
  url = stack.endpoints.websocket;
  senders = await Promise.all(Array.from({ length: 8 }, (_, i) => signupUser(url, `sender-${i}`)));
});
afterAll(() => stack.stop());

let turn = 0;
async function sendTo(to: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = randomUUID();
    const sender = senders[turn++ % senders.length]!;
    const reply = await sender.client.request('send', {
      to,
      messageId: id,
      envelope: fakeEnvelope(60),
    });
    expect(reply.type, JSON.stringify(reply)).toBe('ok');
    ids.push(id);
  }
  return ids;
}

async function offlineUser(name: string): Promise<TestUser> {
  const user = await signupUser(url, name);
  await goOffline(stack.endpoints.dynamodb, user);
  return user;
}

describe('the issue 11 reproduction', () => {
  it('delivers all 253: a backlog of 252, one live message during catch-up, acked as a plain client would', async () => {
    const reader = await offlineUser('reader');
    const backlog = await sendTo('reader', 252);

    const back = await resumeUser(url, reader);
    expect(back.page.events).toHaveLength(PAGE_MAX_EVENTS);
    expect(back.page.more).toBe(true);
    // One more arrives live while the first page is being processed.
    const [live] = await sendTo('reader', 1);
    await back.client.waitFor((m) => m.messageId === live);
    // The push waits in the queue while the client pages, as with a client busy paging.
    const client = new CatchUpClient(back.client);
    await client.follow(back.page);
    await client.settle();
    const received = new Set(client.idsOf('message'));
    expect([...backlog, live!].filter((id) => !received.has(id))).toEqual([]);
    expect(client.processed.filter((e) => e.type === 'message')).toHaveLength(253);
    back.client.close();
  });

  it('loses nothing when a client acks a number far ahead of its pages: the cursor stops at what was served', async () => {
    const eager = await offlineUser('eager');
    const backlog = await sendTo('eager', 150);
    const back = await resumeUser(url, eager);
    const served = back.page.through.inbox!;
    expect(served).toBe(back.page.events.at(-1)!.seq);
    // The live message of issue 11 had number 253: the client acks it before the rest.
    const reply = await back.client.request('ack', { through: { inbox: 1_000_000 } });
    expect(reply).toMatchObject({ type: 'ok', cursors: { inbox: served } });
    expect((reply.page as WirePage).events[0]!.seq).toBe(served + 1);
    const client = new CatchUpClient(back.client);
    await client.follow(back.page);
    expect(new Set(client.idsOf('message'))).toEqual(new Set(backlog));
    expect((await client.ack(client.through)).cursors).toEqual({ inbox: client.through.inbox });
    back.client.close();
  });

  it('keeps every message through connection cuts in the middle of paging', async () => {
    const flaky = await offlineUser('flaky');
    const sent = await sendTo('flaky', 230);
    const got = new Set<string>();
    let cuts = 0;
    // Each round: resume, process some pages (the last one maybe only in part, then no ack for
    // it), and drop the connection; until a resume finds nothing left.
    for (let round = 0; round < 60; round++) {
      const back = await resumeUser(url, flaky);
      let page = back.page;
      if (page.events.length === 0 && !page.more) {
        back.client.close();
        break;
      }
      for (let p = 0; p <= round % 3; p++) {
        const whole = (round + p) % 2 === 0;
        const processed = whole ? page.events : page.events.slice(0, page.events.length >> 1);
        for (const event of processed) got.add(event.messageId);
        if (!whole || !page.more) break;
        page = (await back.client.request('ack', { through: page.through })).page as WirePage;
      }
      if (round === 2) sent.push(...(await sendTo('flaky', 5))); // new ones between the cuts
      back.client.close();
      await back.client.closed;
      cuts++;
    }
    expect(cuts).toBeGreaterThan(3);
    expect(sent.filter((id) => !got.has(id))).toEqual([]);
  });

  it('lets two devices of one account catch up at the same time, each getting everything', async () => {
    const twin = await offlineUser('twin');
    const laptop = await signinDevice(url, twin);
    await goOffline(stack.endpoints.dynamodb, laptop);
    const backlog = await sendTo('twin', 140);
    const [phone, desk] = await Promise.all([resumeUser(url, twin), resumeUser(url, laptop)]);
    const clients = [new CatchUpClient(phone.client), new CatchUpClient(desk.client)];
    const live = sendTo('twin', 3); // arriving while both page
    await Promise.all([clients[0]!.follow(phone.page), clients[1]!.follow(desk.page)]);
    const expected = [...backlog, ...(await live)];
    for (const client of clients) {
      await client.settle();
      const received = new Set(client.idsOf('message'));
      expect(expected.filter((id) => !received.has(id))).toEqual([]);
    }
    // Each device's cursor is its own: acking on one moves nothing on the other.
    const [one] = clients;
    expect((await one!.ack(one!.through)).cursors).toEqual({ inbox: one!.through.inbox });
    phone.client.close();
    desk.client.close();
  });
});

describe('cursors', () => {
  it('answer where each named stream stands: served marks reset on a new connection', async () => {
    const solo = await offlineUser('solo');
    await sendTo('solo', 5);
    const first = await resumeUser(url, solo);
    const served = first.page.through.inbox!;
    first.client.close();
    await first.client.closed;
    // A new connection: nothing served on it yet, so an ack of the old page's number moves nothing.
    const second = await resumeUser(url, solo);
    const before = await second.client.request('ack', { through: { inbox: 0 } });
    expect(before).toMatchObject({ cursors: { inbox: 0 } });
    const acked = await second.client.request('ack', { through: { inbox: served } });
    expect(acked).toMatchObject({ cursors: { inbox: served }, page: { events: [], more: false } });
    // A stream the device has no place in is left out.
    expect(
      await second.client.request('ack', { through: { inbox: served, 'g:not-mine': 4 } }),
    ).toMatchObject({ cursors: { inbox: served }, page: { through: { inbox: served } } });
    expect(await second.client.request('ack', { through: {} })).toMatchObject({
      code: 'BAD_REQUEST',
    });
    expect(await second.client.request('ack', { through: { 'G:Team': 1 } })).toMatchObject({
      code: 'BAD_REQUEST',
    });
    second.client.close();
  });

  it('drop from the cursor item the groups left longer ago than the retention, at sign-in', async () => {
    const old = await offlineUser('old-timer');
    const db = DynamoDBDocumentClient.from(makeDynamoClient(stack.endpoints.dynamodb));
    const longAgo = Date.now() - 31 * 24 * 3600 * 1000;
    await db.send(
      new PutCommand({
        TableName: localTableName('members'),
        Item: { userId: 'old-timer', groupId: 'gone', joinSeq: 1, leftSeq: 5, leftAt: longAgo },
      }),
    );
    const key = { userId: 'old-timer', deviceId: old.deviceId };
    await db.send(
      new PutCommand({
        TableName: localTableName('deviceCursors'),
        Item: { ...key, cursors: { inbox: 0, 'g:gone': 3 }, served: {}, version: 1 },
      }),
    );
    const back = await resumeUser(url, old);
    expect(back.page.through).toEqual({ inbox: 0 });
    const { Item } = await db.send(
      new GetCommand({
        TableName: localTableName('deviceCursors'),
        Key: key,
        ConsistentRead: true,
      }),
    );
    expect(Item!.cursors).toEqual({ inbox: 0 });
    back.client.close();
  });
});

describe('group logs in catch-up', () => {
  it('page a backlog of group messages with live ones during catch-up, each at least once and in log order', async () => {
    const groupId = `big-${randomUUID().slice(0, 6)}`;
    const [author, helper, member] = await Promise.all(
      ['author', 'helper', 'member'].map((name) => signupGroupUser(url, name)),
    );
    for (const user of [author!, helper!, member!])
      expect(await join(user, groupId)).toMatchObject({ type: 'ok' });
    // Epoch 1 (the author alone), then epoch 2 adding the other two.
    expect(await storeEpoch(author!, groupId)).toMatchObject({ type: 'ok', current: true });
    expect(await storeEpoch(author!, groupId)).toMatchObject({ epoch: 2, current: true });
    await goOffline(stack.endpoints.dynamodb, member!);
    const sendGroup = async (count: number) => {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        const id = randomUUID();
        const from = i % 2 === 0 ? author! : helper!;
        const reply = await from.client.request('sendgroup', {
          groupId,
          epoch: 2,
          messageId: id,
          envelope: fakeEnvelope(60),
        });
        expect(reply.type, JSON.stringify(reply)).toBe('ok');
        ids.push(id);
      }
      return ids;
    };
    const backlog = await sendGroup(160);
    const back = await resumeUser(url, member!);
    expect(back.page.more).toBe(true);
    const client = new CatchUpClient(back.client);
    const live = sendGroup(4);
    await client.follow(back.page);
    const expected = [...backlog, ...(await live)];
    await client.settle();
    const received = new Set(client.idsOf('group-message'));
    expect(expected.filter((id) => !received.has(id))).toEqual([]);
    expect(client.idsOf('key-share')).toHaveLength(1);
    const stream = `g:${groupId}`;
    const seqs = client.processed.filter((e) => e.stream === stream && e.seq).map((e) => e.seq!);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    back.client.close();
  });
});
