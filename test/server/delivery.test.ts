/** 1:1 store-and-forward through the local gateway: inbox first, push, pages and cursors per device. */
import {
  PutCommand,
  GetCommand,
  QueryCommand,
  UpdateCommand,
  DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { localTableName } from '../../infra/local/names';
import { makeDynamoClient } from '../../lambdas/runtime/aws';
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
import { startTestStack } from '../../tools/local-stack';
import { inboxItems } from '../support/tables';

let stack: LocalStack;
let url: string;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let dave: TestUser;

beforeAll(async () => {
  stack = await startTestStack();
  url = stack.endpoints.websocket;
  const users = await Promise.all(
    ['alice', 'bob', 'carol', 'dave'].map((name) => signupUser(url, name)),
  );
  [alice, bob, carol, dave] = users as [TestUser, TestUser, TestUser, TestUser];
});
afterAll(() => stack.stop());

const db = () => DynamoDBDocumentClient.from(makeDynamoClient(stack.endpoints.dynamodb));
let counter = 0;
const messageId = () => `msg-${Date.now()}-${counter++}`;
const isMessageFrom = (from: string, id?: string) => (m: Record<string, unknown>) =>
  m.type === 'message' && m.from === from && (id === undefined || m.messageId === id);
/** Another handler has taken the user's next inbox number and is still writing its item. */
async function takeInboxNumber(userId: string): Promise<number> {
  const { Attributes } = await db().send(
    new UpdateCommand({
      TableName: localTableName('mailboxes'),
      Key: { userId },
      UpdateExpression: 'ADD seq :one',
      ExpressionAttributeValues: { ':one': 1 },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  return Attributes!.seq as number;
}
/** The inbox page of an ack that names only the inbox. */
const ackInbox = async (user: TestUser, seq: number) => {
  const reply = await user.client.request('ack', { through: { inbox: seq } });
  expect(reply.type, JSON.stringify(reply)).toBe('ok');
  return reply as { cursors: Record<string, number>; page: WirePage; receipts: number };
};

describe('send', () => {
  it('reaches an online recipient at once, with the sender the server authenticated', async () => {
    const id = messageId();
    const envelope = fakeEnvelope();
    const reply = await alice.client.request('send', { to: 'bob', messageId: id, envelope });
    expect(reply).toMatchObject({ type: 'ok', messageId: id, duplicate: false, deliveredTo: 1 });
    expect(reply).not.toHaveProperty('seq'); // the recipient's numbering is none of the sender's business
    const pushed = await bob.client.waitFor(isMessageFrom('alice', id));
    expect(pushed).toMatchObject({ envelope, stream: 'inbox' });
    // Positions come only from pages: the push has none, the page that confirms it does.
    expect(pushed).not.toHaveProperty('seq');
    const { page } = await ackInbox(bob, 0);
    expect(page.events.find((e) => e.messageId === id)).toMatchObject({
      envelope,
      seq: expect.any(Number),
    });
  });

  it('works between four clients at once, in every direction', async () => {
    const users = [alice, bob, carol, dave];
    const sends = users.flatMap((from) =>
      users.filter((to) => to !== from).map((to) => ({ from, to, id: messageId() })),
    );
    const replies = await Promise.all(
      sends.map(({ from, to, id }) =>
        from.client.request('send', { to: to.username, messageId: id, envelope: fakeEnvelope(64) }),
      ),
    );
    expect(replies.every((r) => r.type === 'ok')).toBe(true);
    await Promise.all(
      sends.map(({ from, to, id }) => to.client.waitFor(isMessageFrom(from.username, id))),
    );
  });

  it('is idempotent per message id: a retry is stored once and keeps its sequence number', async () => {
    const id = messageId();
    const envelope = fakeEnvelope();
    await alice.client.request('send', { to: 'carol', messageId: id, envelope });
    const retry = await alice.client.request('send', { to: 'carol', messageId: id, envelope });
    expect(retry).toMatchObject({ type: 'ok', duplicate: true });
    const { Items } = await db().send(
      new QueryCommand({
        TableName: localTableName('inbox'),
        KeyConditionExpression: 'userId = :u',
        ExpressionAttributeValues: { ':u': 'carol' },
      }),
    );
    // The retry's own number is stored as skipped, so no cursor waits for it.
    const stored = Items!.filter((item) => item.messageId === id);
    expect(stored.map((item) => item.kind).sort()).toEqual(['message', 'skipped']);
    const skipped = stored.find((item) => item.kind === 'skipped')!;
    const message = stored.find((item) => item.kind === 'message')!;
    expect(skipped).not.toHaveProperty('envelope');
    expect(skipped.seq).toBeGreaterThan(message.seq);
    // A page covers the skipped number without serving it; acking that page moves the cursor past it.
    const { page } = await ackInbox(carol, 0);
    expect(page.through.inbox).toBeGreaterThanOrEqual(skipped.seq);
    expect(page.events.filter((e) => e.messageId === id)).toHaveLength(1);
    expect((await ackInbox(carol, page.through.inbox!)).cursors.inbox).toBe(page.through.inbox);
  });

  it('answers a send over the rate limit RATE_LIMITED and stores nothing for it', async () => {
    const hank = await signupUser(url, 'hank');
    const burst = await signupUser(url, 'burst');
    // Sends until the first refusal: 120 a minute, so within 241 even if the burst spans two
    // minute windows.
    let accepted = 0;
    let refusal: Record<string, unknown> | undefined;
    while (!refusal && accepted < 241) {
      const reply = await burst.client.request('send', {
        to: 'hank',
        messageId: messageId(),
        envelope: fakeEnvelope(40),
      });
      if (reply.type === 'ok') accepted++;
      else refusal = reply;
    }
    expect(refusal).toMatchObject({ code: 'RATE_LIMITED' });
    expect(accepted).toBeGreaterThanOrEqual(120);
    // The refusal comes before a number is taken: the page covers every number at once.
    const reader = new CatchUpClient(hank.client);
    await reader.follow((await ackInbox(hank, 0)).page);
    expect(reader.pages.every((page) => page.retryAfterMs === undefined)).toBe(true);
    expect(reader.idsOf('message')).toHaveLength(accepted);
    const { Items } = await db().send(
      new QueryCommand({
        TableName: localTableName('inbox'),
        KeyConditionExpression: 'userId = :u',
        ExpressionAttributeValues: { ':u': 'hank' },
      }),
    );
    expect(Items!.filter((item) => item.kind === 'skipped')).toHaveLength(0);
    expect(Items!).toHaveLength(accepted);
    expect(reader.through.inbox).toBe(Items!.at(-1)!.seq);
  });

  it('delivers both messages when two senders use one message id for one recipient', async () => {
    const id = messageId();
    const [fromAlice, fromCarol] = [fakeEnvelope(), fakeEnvelope()];
    const replies = await Promise.all([
      alice.client.request('send', { to: 'bob', messageId: id, envelope: fromAlice }),
      carol.client.request('send', { to: 'bob', messageId: id, envelope: fromCarol }),
    ]);
    expect(replies).toEqual([
      expect.objectContaining({ type: 'ok', duplicate: false }),
      expect.objectContaining({ type: 'ok', duplicate: false }),
    ]);
    expect(await bob.client.waitFor(isMessageFrom('alice', id))).toMatchObject({
      envelope: fromAlice,
    });
    expect(await bob.client.waitFor(isMessageFrom('carol', id))).toMatchObject({
      envelope: fromCarol,
    });
    const stored = (await inboxItems(stack.endpoints.dynamodb, 'bob')).filter(
      (item) => item.messageId === id && item.kind === 'message',
    );
    expect(stored.map((item) => [item.from, item.envelope]).sort()).toEqual(
      [
        ['alice', fromAlice],
        ['carol', fromCarol],
      ].sort(),
    );
  });

  it('names a recipient as signup does: trimmed, NFKC and lower case', async () => {
    for (const to of ['ＢＯＢ', ' Bob ']) {
      const id = messageId();
      expect(
        await alice.client.request('send', { to, messageId: id, envelope: fakeEnvelope() }),
      ).toMatchObject({ type: 'ok' });
      await bob.client.waitFor(isMessageFrom('alice', id));
    }
  });

  it('refuses an unknown recipient with NOT_FOUND and an oversized envelope with BAD_REQUEST, storing nothing', async () => {
    expect(
      await alice.client.request('send', {
        to: 'nobody-at-all',
        messageId: messageId(),
        envelope: fakeEnvelope(),
      }),
    ).toMatchObject({ code: 'NOT_FOUND' });
    const big = await alice.client.request('send', {
      to: 'bob',
      messageId: messageId(),
      envelope: 'A'.repeat(24 * 1024 + 4),
    });
    expect(big).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('envelope'),
    });
    expect(
      await alice.client.request('send', { to: 'bob', messageId: 'x', envelope: fakeEnvelope() }),
    ).toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('forgets a connection that answers 410 (mailbox entry and row) and still delivers to the live one', async () => {
    const stale = { deviceId: 'old-phone', connectedAt: 1, expiresAt: Date.now() + 600_000 };
    await db().send(
      new PutCommand({
        TableName: localTableName('connections'),
        Item: {
          connectionId: 'stale-connection=',
          userId: 'dave',
          ...stale,
          expiresAt: Math.ceil(stale.expiresAt / 1000),
        },
      }),
    );
    await db().send(
      new UpdateCommand({
        TableName: localTableName('mailboxes'),
        Key: { userId: 'dave' },
        UpdateExpression: 'SET #c = :c',
        ExpressionAttributeNames: { '#c': 'c#stale-connection=' },
        ExpressionAttributeValues: { ':c': stale },
      }),
    );
    const id = messageId();
    const reply = await alice.client.request('send', {
      to: 'dave',
      messageId: id,
      envelope: fakeEnvelope(),
    });
    expect(reply.deliveredTo).toBe(1);
    await dave.client.waitFor(isMessageFrom('alice', id));
    const { Item } = await db().send(
      new GetCommand({
        TableName: localTableName('connections'),
        Key: { connectionId: 'stale-connection=' },
      }),
    );
    expect(Item).toBeUndefined();
    const mailbox = await db().send(
      new GetCommand({ TableName: localTableName('mailboxes'), Key: { userId: 'dave' } }),
    );
    expect(Object.keys(mailbox.Item!).filter((name) => name.startsWith('c#'))).toHaveLength(1);
  });
});

describe('offline delivery', () => {
  it('delivers what an offline user missed exactly once, in order, in the first page after it reconnects', async () => {
    const erin = await signupUser(url, 'erin');
    await goOffline(stack.endpoints.dynamodb, erin);

    const ids = [messageId(), messageId(), messageId()];
    for (const id of ids)
      expect(
        await alice.client.request('send', { to: 'erin', messageId: id, envelope: fakeEnvelope() }),
      ).toMatchObject({ deliveredTo: 0 });

    const back = await resumeUser(url, erin);
    expect(back.page.more).toBe(false);
    expect(back.page.events.map((e) => e.messageId)).toEqual(ids);
    const seqs = back.page.events.map((e) => e.seq!);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(back.page.through.inbox).toBe(seqs.at(-1));
    // Nothing pushed at sign-in: the page is the catch-up.
    expect(await back.client.silentFor(200)).toBe(true);

    const acked = await back.client.request('ack', { through: back.page.through });
    expect(acked).toMatchObject({
      type: 'ok',
      cursors: { inbox: seqs.at(-1) },
      page: { events: [], more: false },
    });
    back.client.close();

    const again = await resumeUser(url, erin);
    expect(again.page).toMatchObject({ events: [], more: false, through: { inbox: seqs.at(-1) } });
    again.client.close();
  });

  it('gives a second device everything after its own cursor, even what the first device acked', async () => {
    const id = messageId();
    await carol.client.request('send', { to: 'bob', messageId: id, envelope: fakeEnvelope() });
    await bob.client.waitFor(isMessageFrom('carol', id));
    const onPhone = new CatchUpClient(bob.client);
    await onPhone.follow((await ackInbox(bob, 0)).page);
    expect(onPhone.idsOf('message')).toContain(id);
    await onPhone.ack(onPhone.through);

    const laptop = await signinDevice(url, bob);
    const onLaptop = new CatchUpClient(laptop.client);
    await onLaptop.follow(laptop.page!);
    const there = onLaptop.processed.find((e) => e.messageId === id);
    expect(there?.seq).toBe(onPhone.processed.find((e) => e.messageId === id)?.seq);
    laptop.client.close();
  });

  it('never moves a cursor backwards, nor past what a page on this connection served', async () => {
    const id = messageId();
    await alice.client.request('send', { to: 'bob', messageId: id, envelope: fakeEnvelope() });
    await bob.client.waitFor(isMessageFrom('alice', id));
    const { page } = await ackInbox(bob, 0);
    const served = page.through.inbox!;
    expect((await ackInbox(bob, 1_000_000)).cursors.inbox).toBe(served);
    expect((await ackInbox(bob, 3)).cursors.inbox).toBe(served);
  });

  it('never lets a page cover a number that is still being written', async () => {
    const gina = await signupUser(url, 'gina');
    // A handler has taken gina's next number and is still writing its item...
    const inFlight = await takeInboxNumber('gina');
    const later = messageId();
    await alice.client.request('send', { to: 'gina', messageId: later, envelope: fakeEnvelope() });
    await gina.client.waitFor(isMessageFrom('alice', later));
    // ...so the page after the push stops before it, and says when to ask again.
    const { page } = await ackInbox(gina, 0);
    expect(page).toMatchObject({ events: [], more: true, through: { inbox: inFlight - 1 } });
    expect(page.retryAfterMs).toBeGreaterThan(0);
    expect((await ackInbox(gina, page.through.inbox!)).cursors.inbox).toBe(inFlight - 1);
    await goOffline(stack.endpoints.dynamodb, gina);
    const slow = messageId();
    const now = Date.now();
    await db().send(
      new PutCommand({
        TableName: localTableName('inbox'),
        Item: {
          userId: 'gina',
          seq: inFlight,
          kind: 'message',
          from: 'carol',
          messageId: slow,
          envelope: fakeEnvelope(),
          sentAt: now,
          storedAt: now,
          expiresAt: Math.ceil(now / 1000) + 3600,
        },
      }),
    );

    const back = await resumeUser(url, gina);
    expect(back.page.events.map((e) => [e.messageId, e.seq])).toEqual([
      [slow, inFlight],
      [later, inFlight + 1],
    ]);
    back.client.close();
  });
});

describe('keys', () => {
  const bundle = (userId: string, identityByte: number) => ({
    userId,
    identityDh: Buffer.alloc(32, identityByte).toString('base64'),
    identitySign: Buffer.alloc(32, identityByte + 1).toString('base64'),
    signedPrekey: {
      id: 1,
      publicKey: Buffer.alloc(32, 9).toString('base64'),
      signature: Buffer.alloc(64, 7).toString('base64'),
      createdAt: 1_795_000_000_000,
    },
  });

  it('publishes a bundle, lets others fetch it, and never silently replaces an identity key', async () => {
    expect(
      await alice.client.request('keys', { op: 'publish', bundle: bundle('alice', 1) }),
    ).toMatchObject({ type: 'ok', published: true });
    expect(await bob.client.request('keys', { op: 'fetch', userId: 'alice' })).toMatchObject({
      type: 'ok',
      bundle: bundle('alice', 1),
    });

    const first = bundle('alice', 1).signedPrekey;
    const rotated = {
      ...bundle('alice', 1),
      signedPrekey: {
        ...first,
        id: 2,
        publicKey: Buffer.alloc(32, 10).toString('base64'),
        createdAt: first.createdAt + 1,
      },
    };
    expect(await alice.client.request('keys', { op: 'publish', bundle: rotated })).toMatchObject({
      type: 'ok',
    });
    expect(
      await alice.client.request('keys', { op: 'publish', bundle: bundle('alice', 5) }),
    ).toMatchObject({ code: 'CONFLICT' });
    expect((await bob.client.request('keys', { op: 'fetch', userId: 'alice' })).bundle).toEqual(
      rotated,
    );
    // Any spelling signup would accept names the same user.
    expect(
      (await bob.client.request('keys', { op: 'fetch', userId: 'ＡＬＩＣＥ' })).bundle,
    ).toEqual(rotated);

    expect(
      await bob.client.request('keys', { op: 'publish', bundle: bundle('alice', 3) }),
    ).toMatchObject({ code: 'FORBIDDEN' });
    expect(
      await bob.client.request('keys', { op: 'fetch', userId: 'nobody-at-all' }),
    ).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('stores the sealed key backup for its owner only', async () => {
    const backup = fakeEnvelope(500);
    const stored = await carol.client.request('keys', {
      op: 'put-backup',
      backup,
      version: 1,
      replaces: 0,
    });
    expect(stored, JSON.stringify(stored)).toMatchObject({ type: 'ok', version: 1 });
    expect(await carol.client.request('keys', { op: 'get-backup' })).toMatchObject({
      type: 'ok',
      backup,
      version: 1,
    });
    expect(await dave.client.request('keys', { op: 'get-backup' })).toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});

describe('keys: backups and prekeys of several devices', () => {
  it('stores a backup only over the version it names (compare and swap), naming the current one', async () => {
    const user = await signupUser(url, 'backer');
    const put = (version: number, replaces: number) =>
      user.client.request('keys', { op: 'put-backup', backup: fakeEnvelope(), version, replaces });
    expect(await put(1, 0)).toMatchObject({ type: 'ok', version: 1 });
    // A device that did not see version 1 must not overwrite it.
    expect(await put(2, 0)).toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('version 1'),
    });
    expect(await put(2, 1)).toMatchObject({ type: 'ok' });
    // Two devices writing at once: one wins, the other is told to merge.
    const racing = await Promise.all([put(3, 2), put(3, 2)]);
    expect(racing.filter((reply) => reply.type === 'ok')).toHaveLength(1);
    expect(racing.filter((reply) => reply.code === 'CONFLICT')).toHaveLength(1);
    expect(await user.client.request('keys', { op: 'get-backup' })).toMatchObject({ version: 3 });
    expect(await put(3, 3)).toMatchObject({ code: 'BAD_REQUEST' });
    user.client.close();
  });

  it('refuses a signed prekey not newer than the published one; the same one again is a retry', async () => {
    const user = await signupUser(url, 'rotating');
    const prekey = (id: number, createdAt: number, byte: number) => ({
      userId: 'rotating',
      identityDh: Buffer.alloc(32, 1).toString('base64'),
      identitySign: Buffer.alloc(32, 2).toString('base64'),
      signedPrekey: {
        id,
        publicKey: Buffer.alloc(32, byte).toString('base64'),
        signature: Buffer.alloc(64, 7).toString('base64'),
        createdAt,
      },
    });
    const publish = (bundle: object) => user.client.request('keys', { op: 'publish', bundle });
    const t = 1_795_000_000_000;
    expect(await publish(prekey(1, t, 3))).toMatchObject({ type: 'ok' });
    expect(await publish(prekey(2, t + 1000, 4))).toMatchObject({ type: 'ok' });
    expect(await publish(prekey(2, t + 1000, 4))).toMatchObject({ type: 'ok' }); // a retry
    for (const stale of [prekey(3, t + 1000, 5), prekey(3, t + 500, 6)])
      expect(await publish(stale)).toMatchObject({
        code: 'CONFLICT',
        message: expect.stringContaining('prekey'),
      });
    expect(
      (await user.client.request('keys', { op: 'fetch', userId: 'rotating' })).bundle,
    ).toMatchObject({ signedPrekey: { id: 2 } });
    user.client.close();
  });
});

describe('delivery receipts', () => {
  const itemCount = async (table: 'inbox') =>
    (
      await db().send(
        new QueryCommand({
          TableName: localTableName(table),
          KeyConditionExpression: 'userId = :u',
          ExpressionAttributeValues: { ':u': 'alice' },
          Select: 'COUNT',
        }),
      )
    ).Count;
  const receiptsIn = async (userId: string, messageId: string) => {
    const { Items } = await db().send(
      new QueryCommand({
        TableName: localTableName('inbox'),
        KeyConditionExpression: 'userId = :u',
        ExpressionAttributeValues: { ':u': userId },
      }),
    );
    return (Items ?? []).filter(
      (item) => item.kind === 'receipt' && item.ofMessageId === messageId,
    );
  };

  it('flow back to the sender once the recipient acks, once per message whatever the devices', async () => {
    const id = messageId();
    await alice.client.request('send', { to: 'dave', messageId: id, envelope: fakeEnvelope() });
    await dave.client.waitFor(isMessageFrom('alice', id));
    const onPhone = new CatchUpClient(dave.client);
    await onPhone.follow((await ackInbox(dave, 0)).page);
    const acked = await ackInbox(dave, onPhone.through.inbox!);
    // Dave had not acked before: every 1:1 message up to this one gets its receipt now.
    expect(acked.receipts).toBeGreaterThanOrEqual(1);
    const receipt = await alice.client.waitFor((m) => m.type === 'receipt' && m.messageId === id);
    expect(receipt).toMatchObject({ from: 'dave', status: 'delivered', stream: 'inbox' });

    // A second device's ack, and a replay of it, add no receipt and write nothing.
    const laptop = await signinDevice(url, dave);
    expect(laptop.page!.events.some((e) => e.messageId === id)).toBe(true);
    const inboxBefore = await itemCount('inbox');
    for (let i = 0; i < 3; i++)
      expect(await laptop.client.request('ack', { through: laptop.page!.through })).toMatchObject({
        receipts: 0,
      });
    expect(await itemCount('inbox')).toBe(inboxBefore);
    laptop.client.close();
    expect(await receiptsIn('alice', id)).toHaveLength(1);
  });

  it('reach an offline sender at its next sign-in', async () => {
    const frank = await signupUser(url, 'frank');
    const id = messageId();
    await frank.client.request('send', { to: 'dave', messageId: id, envelope: fakeEnvelope() });
    await goOffline(stack.endpoints.dynamodb, frank);
    await dave.client.waitFor(isMessageFrom('frank', id));
    const onPhone = new CatchUpClient(dave.client);
    await onPhone.follow((await ackInbox(dave, 0)).page);
    await ackInbox(dave, onPhone.through.inbox!);
    const back = await signinDevice(url, frank, frank.deviceId);
    expect(back.page!.events.find((e) => e.type === 'receipt' && e.messageId === id)).toMatchObject(
      { from: 'dave', seq: expect.any(Number) },
    );
    back.client.close();
  });
});
