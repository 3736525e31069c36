/** 1:1 store-and-forward through the local gateway: inbox first, push, cursors per device, exactly once. */
import {
  PutCommand,
  GetCommand,
  QueryCommand,
  DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { localTableName } from '../../infra/resources';
import { makeDynamoClient } from '../../lambdas/runtime/aws';
import { nextInboxSeq } from '../../lambdas/stores/dynamo-common';
import {
  fakeEnvelope,
  goOffline,
  signinDevice,
  signupUser,
  type TestUser,
} from '../support/accounts';
import { startTestStack } from '../support/local-stack';
import { inboxItems } from '../support/tables';
import { TestClient } from '../support/ws-client';

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

describe('send', () => {
  it('reaches an online recipient at once, with the sender the server authenticated', async () => {
    const id = messageId();
    const envelope = fakeEnvelope();
    const reply = await alice.client.request('send', { to: 'bob', messageId: id, envelope });
    expect(reply).toMatchObject({ type: 'ok', messageId: id, duplicate: false, deliveredTo: 1 });
    // The recipient's sequence number would tell the sender how much its inbox holds.
    expect(reply).not.toHaveProperty('seq');
    const pushed = await bob.client.waitFor(isMessageFrom('alice', id));
    expect(pushed).toMatchObject({ envelope, seq: expect.any(Number) });
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
    const first = await carol.client.waitFor(isMessageFrom('alice', id));
    const retry = await alice.client.request('send', { to: 'carol', messageId: id, envelope });
    expect(retry).toMatchObject({ type: 'ok', duplicate: true });
    expect(await carol.client.waitFor(isMessageFrom('alice', id))).toMatchObject({
      seq: first.seq,
    });
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
    expect(skipped).not.toHaveProperty('envelope');
    expect(await carol.client.request('ack', { seq: skipped.seq })).toMatchObject({
      cursor: skipped.seq,
    });
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

  it('deletes a connection row that answers 410 and still delivers to the live one', async () => {
    await db().send(
      new PutCommand({
        TableName: localTableName('connections'),
        Item: {
          connectionId: 'stale-connection=',
          userId: 'dave',
          deviceId: 'old-phone',
          connectedAt: 1,
          expiresAt: Math.ceil(Date.now() / 1000) + 600,
        },
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
  });
});

describe('offline delivery', () => {
  it('delivers what an offline user missed exactly once, in order, after it reconnects', async () => {
    const erin = await signupUser(url, 'erin');
    await goOffline(stack.endpoints.dynamodb, erin);

    const ids = [messageId(), messageId(), messageId()];
    for (const id of ids)
      expect(
        await alice.client.request('send', { to: 'erin', messageId: id, envelope: fakeEnvelope() }),
      ).toMatchObject({ deliveredTo: 0 });

    const back = await TestClient.connect(url);
    const resumed = await back.request('resume', { token: erin.token, deviceId: erin.deviceId });
    expect(resumed).toMatchObject({ type: 'ok', pending: 3 });
    const received = [await back.next(), await back.next(), await back.next()].filter(
      (m) => m.type === 'message',
    );
    expect(received.map((m) => m.messageId)).toEqual(ids);
    const seqs = received.map((m) => m.seq as number);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);

    expect(await back.request('ack', { seq: seqs.at(-1) })).toMatchObject({
      type: 'ok',
      cursor: seqs.at(-1),
      pushed: 0,
    });
    back.close();

    const again = await TestClient.connect(url);
    expect(
      await again.request('resume', { token: erin.token, deviceId: erin.deviceId }),
    ).toMatchObject({ type: 'ok', pending: 0 });
    expect(await again.silentFor(300)).toBe(true);
    again.close();
  });

  it('gives a second device everything after its own cursor, even what the first device acked', async () => {
    const id = messageId();
    await carol.client.request('send', { to: 'bob', messageId: id, envelope: fakeEnvelope() });
    const onPhone = await bob.client.waitFor(isMessageFrom('carol', id));
    await bob.client.request('ack', { seq: onPhone.seq });

    const laptop = await signinDevice(url, bob);
    const onLaptop = await laptop.client.waitFor(isMessageFrom('carol', id));
    expect(onLaptop.seq).toBe(onPhone.seq);
    laptop.client.close();
  });

  it('never moves a cursor backwards, nor past what is stored', async () => {
    const id = messageId();
    await alice.client.request('send', { to: 'bob', messageId: id, envelope: fakeEnvelope() });
    const last = await bob.client.waitFor(isMessageFrom('alice', id));
    expect(await bob.client.request('ack', { seq: 1_000_000 })).toMatchObject({
      cursor: last.seq,
    });
    expect(await bob.client.request('ack', { seq: 3 })).toMatchObject({ cursor: last.seq });
  });

  it('never lets an ack skip a number that is still being written', async () => {
    const gina = await signupUser(url, 'gina');
    // A handler has taken gina's next number and is still writing its item...
    const inFlight = await nextInboxSeq(db(), localTableName('counters'), 'gina');
    const later = messageId();
    await alice.client.request('send', { to: 'gina', messageId: later, envelope: fakeEnvelope() });
    const pushed = await gina.client.waitFor(isMessageFrom('alice', later));
    expect(pushed.seq).toBe(inFlight + 1);
    // ...so gina's ack of the later message cannot move her cursor over it.
    expect(await gina.client.request('ack', { seq: pushed.seq })).toMatchObject({
      cursor: inFlight - 1,
    });
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

    const back = await TestClient.connect(url);
    await back.request('resume', { token: gina.token, deviceId: gina.deviceId });
    expect(await back.waitFor(isMessageFrom('carol', slow))).toMatchObject({ seq: inFlight });
    back.close();
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
    const got = await dave.client.waitFor(isMessageFrom('alice', id));
    const acked = await dave.client.request('ack', { seq: got.seq });
    // Dave had not acked before: every 1:1 message up to this one gets its receipt now.
    expect(acked.receipts).toBeGreaterThanOrEqual(1);
    const receipt = await alice.client.waitFor((m) => m.type === 'receipt' && m.messageId === id);
    expect(receipt).toMatchObject({ from: 'dave', status: 'delivered' });

    const laptop = await signinDevice(url, dave);
    const again = await laptop.client.waitFor(isMessageFrom('alice', id));
    expect(await laptop.client.request('ack', { seq: again.seq })).toMatchObject({ receipts: 0 });
    laptop.client.close();
    expect(await receiptsIn('alice', id)).toHaveLength(1);
  });

  it('reach an offline sender at its next sign-in', async () => {
    const frank = await signupUser(url, 'frank');
    const id = messageId();
    await frank.client.request('send', { to: 'dave', messageId: id, envelope: fakeEnvelope() });
    await goOffline(stack.endpoints.dynamodb, frank);
    const got = await dave.client.waitFor(isMessageFrom('frank', id));
    await dave.client.request('ack', { seq: got.seq });
    const back = await signinDevice(url, frank, frank.deviceId);
    expect(
      await back.client.waitFor((m) => m.type === 'receipt' && m.messageId === id),
    ).toMatchObject({ from: 'dave' });
    back.client.close();
  });
});
