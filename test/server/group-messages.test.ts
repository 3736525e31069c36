/** Group epochs, key-shares and group messages through the local gateway: stored once, pointers per member, nothing lost offline. */
import { randomUUID } from 'node:crypto';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { localTableName } from '../../infra/resources';
import { makeDynamoClient } from '../../lambdas/runtime/aws';
import { fakeEnvelope, goOffline, signupUser, type TestUser } from '../support/accounts';
import { startTestStack } from '../support/local-stack';
import { inboxItems as readInbox } from '../support/tables';
import { TestClient } from '../support/ws-client';

let stack: LocalStack;
let url: string;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let dave: TestUser;
let erin: TestUser;
const TEAM = 'team';

const db = () => DynamoDBDocumentClient.from(makeDynamoClient(stack.endpoints.dynamodb));
const messageId = () => randomUUID();
type Message = Record<string, unknown>;

/** Stores epoch `epoch` of `groupId` from `user` for `members`, as the client core would. */
function epochFrame(groupId: string, epoch: number, members: readonly string[]) {
  return {
    op: 'store',
    groupId,
    epoch,
    statement: fakeEnvelope(120 + members.length * 20),
    keyShares: members.map((to) => ({ to, messageId: messageId(), envelope: fakeEnvelope(180) })),
  };
}

async function currentEpoch(user: TestUser, groupId: string): Promise<number> {
  return (await user.client.request('members', { groupId })).epoch as number;
}

/** `user` joins and makes the next epoch for the new member list. */
async function joinAndShare(user: TestUser, groupId: string): Promise<number> {
  const joined = await user.client.request('join', { groupId });
  expect(joined.type).toBe('ok');
  const members = (joined.members as { userId: string }[]).map((m) => m.userId);
  const epoch = (joined.epoch as number) + 1;
  const stored = await user.client.request('sharekey', epochFrame(groupId, epoch, members));
  expect(stored, JSON.stringify(stored)).toMatchObject({ type: 'ok', epoch });
  return epoch;
}

/** True when no matching message arrives (or is queued) within `ms`. */
const neverGets = (user: TestUser, predicate: (m: Message) => boolean, ms = 200) =>
  user.client.waitFor(predicate, ms).then(
    () => false,
    () => true,
  );

const isEvent = (type: string, id?: string) => (m: Message) =>
  m.type === type && (id === undefined || m.messageId === id);

const inboxItems = (userId: string) => readInbox(stack.endpoints.dynamodb, userId);

const groupKeyItems = async (groupId: string, prefix: string) =>
  (
    await db().send(
      new QueryCommand({
        TableName: localTableName('groupKeys'),
        KeyConditionExpression: 'groupId = :g AND begins_with(sk, :p)',
        ExpressionAttributeValues: { ':g': groupId, ':p': prefix },
        ConsistentRead: true,
      }),
    )
  ).Items!;

beforeAll(async () => {
  stack = await startTestStack();
  url = stack.endpoints.websocket;
  [alice, bob, carol, dave, erin] = (await Promise.all(
    ['alice', 'bob', 'carol', 'dave', 'erin'].map((name) => signupUser(url, name)),
  )) as [TestUser, TestUser, TestUser, TestUser, TestUser];
  // alice creates the team and makes epoch 1; bob, carol and dave join, each making the next epoch.
  const created = await alice.client.request('join', { groupId: TEAM });
  expect(created).toMatchObject({ created: true, epoch: 0 });
  expect(await alice.client.request('sharekey', epochFrame(TEAM, 1, ['alice']))).toMatchObject({
    type: 'ok',
    epoch: 1,
    stored: 1,
  });
  for (const user of [bob, carol, dave]) await joinAndShare(user, TEAM);
});
afterAll(() => stack.stop());

describe('sharekey', () => {
  it('stored each epoch once, with a key-share pushed to each member of it', async () => {
    expect(await currentEpoch(alice, TEAM)).toBe(4);
    // dave's epoch 4 reached every member, with its statement.
    for (const user of [alice, bob, carol, dave]) {
      const share = await user.client.waitFor(
        (m) => m.type === 'key-share' && m.groupId === TEAM && m.epoch === 4,
      );
      expect(share).toMatchObject({ from: 'dave', statement: expect.any(String) });
    }
    expect(await groupKeyItems(TEAM, 'epoch#')).toHaveLength(4);
    expect(await groupKeyItems(TEAM, 'share#dave#')).toHaveLength(1);
    expect(await groupKeyItems(TEAM, 'share#alice#')).toHaveLength(4);
    const members = await alice.client.request('members', { groupId: TEAM });
    expect(members).toMatchObject({
      epoch: 4,
      epochMembers: ['alice', 'bob', 'carol', 'dave'],
      memberCount: 4,
    });
  });

  it('refuses a non-member (FORBIDDEN), a skipped or old epoch (CONFLICT naming the current one), and a share for a non-member, writing nothing', async () => {
    const epoch = await currentEpoch(alice, TEAM);
    const all = ['alice', 'bob', 'carol', 'dave'];
    expect(
      await erin.client.request('sharekey', epochFrame(TEAM, epoch + 1, [...all, 'erin'])),
    ).toMatchObject({ code: 'FORBIDDEN' });
    for (const wrong of [epoch + 2, epoch, 1]) {
      const refused = await alice.client.request('sharekey', epochFrame(TEAM, wrong, all));
      expect(refused).toMatchObject({ code: 'CONFLICT' });
      expect(refused.message).toContain(`current epoch is ${epoch}`);
    }
    expect(
      await alice.client.request('sharekey', epochFrame(TEAM, epoch + 1, [...all, 'erin'])),
    ).toMatchObject({ code: 'CONFLICT' });
    expect(
      await alice.client.request('sharekey', epochFrame(TEAM, epoch + 1, ['alice', 'alice'])),
    ).toMatchObject({ code: 'BAD_REQUEST' });
    expect(
      await alice.client.request('sharekey', epochFrame('no-such-group', 1, ['alice'])),
    ).toMatchObject({ code: 'NOT_FOUND' });
    expect(await currentEpoch(alice, TEAM)).toBe(epoch);
    expect(await groupKeyItems(TEAM, 'epoch#')).toHaveLength(epoch);
  });

  it('lets exactly one of two concurrent epochs with the same number win; the loser retries on top', async () => {
    const epoch = (await currentEpoch(alice, TEAM)) + 1;
    const all = ['alice', 'bob', 'carol', 'dave'];
    const replies = await Promise.all([
      bob.client.request('sharekey', epochFrame(TEAM, epoch, all)),
      carol.client.request('sharekey', epochFrame(TEAM, epoch, all)),
    ]);
    expect(replies.map((r) => r.type).sort()).toEqual(['error', 'ok']);
    const loser = replies.findIndex((r) => r.type === 'error');
    expect(replies[loser]).toMatchObject({ code: 'CONFLICT' });
    expect((await groupKeyItems(TEAM, 'epoch#')).length).toBe(epoch);
    const retry = await [bob, carol][loser]!.client.request(
      'sharekey',
      epochFrame(TEAM, epoch + 1, all),
    );
    expect(retry).toMatchObject({ type: 'ok', epoch: epoch + 1, stored: 4 });
  });

  it('takes a big epoch in several frames, and a retry of a frame stores nothing twice', async () => {
    const epoch = (await currentEpoch(alice, TEAM)) + 1;
    const frame = epochFrame(TEAM, epoch, ['alice', 'bob', 'carol', 'dave']);
    const part = (keyShares: typeof frame.keyShares) => ({ ...frame, keyShares });
    expect(await alice.client.request('sharekey', part(frame.keyShares.slice(0, 2)))).toMatchObject(
      { type: 'ok', stored: 2 },
    );
    expect(await alice.client.request('sharekey', part(frame.keyShares.slice(1, 4)))).toMatchObject(
      { type: 'ok', stored: 2 },
    );
    expect(await groupKeyItems(TEAM, `share#bob#${String(epoch).padStart(10, '0')}`)).toHaveLength(
      1,
    );
    // Someone else cannot add to alice's epoch.
    expect(await bob.client.request('sharekey', part(frame.keyShares.slice(0, 1)))).toMatchObject({
      code: 'CONFLICT',
    });
  });
});

describe('sendgroup', () => {
  it('reaches every member but the sender; the body is stored once, each member gets one pointer', async () => {
    const epoch = await currentEpoch(alice, TEAM);
    const id = messageId();
    const envelope = fakeEnvelope(300);
    const reply = await alice.client.request('sendgroup', {
      groupId: TEAM,
      epoch,
      messageId: id,
      envelope,
    });
    expect(reply).toMatchObject({ type: 'ok', duplicate: false, recipients: 3, deliveredTo: 3 });
    for (const user of [bob, carol, dave])
      expect(await user.client.waitFor(isEvent('group-message', id))).toMatchObject({
        groupId: TEAM,
        epoch,
        from: 'alice',
        envelope,
        seq: expect.any(Number),
      });
    expect(await neverGets(alice, isEvent('group-message', id))).toBe(true);

    // A retry stores and delivers nothing new.
    expect(
      await alice.client.request('sendgroup', { groupId: TEAM, epoch, messageId: id, envelope }),
    ).toMatchObject({ type: 'ok', duplicate: true });

    const bodies = await groupKeyItems(TEAM, `msg#alice#${id}`);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]!.envelope).toBe(envelope);
    for (const user of ['bob', 'carol', 'dave']) {
      const pointers = (await inboxItems(user)).filter((item) => item.messageId === id);
      expect(pointers).toHaveLength(1);
      expect(pointers[0]).toMatchObject({ kind: 'group-message', groupId: TEAM, epoch });
      expect(pointers[0]!.envelope).toBeUndefined();
    }
    expect((await inboxItems('alice')).some((item) => item.messageId === id)).toBe(false);
  });

  it('stores one pointer per member when two attempts of the same message race', async () => {
    const epoch = await currentEpoch(alice, TEAM);
    const id = messageId();
    const envelope = fakeEnvelope(120);
    const replies = await Promise.all(
      [1, 2, 3].map(() =>
        alice.client.request('sendgroup', { groupId: TEAM, epoch, messageId: id, envelope }),
      ),
    );
    expect(replies.every((r) => r.type === 'ok')).toBe(true);
    expect(replies.filter((r) => r.duplicate === false)).toHaveLength(1);
    for (const user of ['bob', 'carol', 'dave']) {
      const stored = (await inboxItems(user)).filter((item) => item.messageId === id);
      // Attempts that lost the race store their numbers as skipped, so no cursor waits for them.
      expect(
        stored.filter((item) => item.kind === 'group-message'),
        user,
      ).toHaveLength(1);
      expect(
        stored.every((item) => ['group-message', 'skipped'].includes(item.kind as string)),
      ).toBe(true);
    }
  });

  it('carries four members sending at once to all the others', async () => {
    const epoch = await currentEpoch(alice, TEAM);
    const senders = [alice, bob, carol, dave].map((user) => ({ user, id: messageId() }));
    const replies = await Promise.all(
      senders.map(({ user, id }) =>
        user.client.request('sendgroup', {
          groupId: TEAM,
          epoch,
          messageId: id,
          envelope: fakeEnvelope(),
        }),
      ),
    );
    expect(replies.every((r) => r.type === 'ok' && r.recipients === 3)).toBe(true);
    await Promise.all(
      senders.flatMap(({ user: sender, id }) =>
        [alice, bob, carol, dave]
          .filter((user) => user !== sender)
          .map((user) => user.client.waitFor(isEvent('group-message', id))),
      ),
    );
  });

  it('refuses a stale epoch with CONFLICT naming the current one, a non-member with FORBIDDEN, storing nothing', async () => {
    const epoch = await currentEpoch(alice, TEAM);
    const stale = {
      groupId: TEAM,
      epoch: epoch - 1,
      messageId: messageId(),
      envelope: fakeEnvelope(),
    };
    const refused = await bob.client.request('sendgroup', stale);
    expect(refused).toMatchObject({ code: 'CONFLICT' });
    expect(refused.message).toContain(`current epoch is ${epoch}`);
    const outsider = { ...stale, epoch, messageId: messageId() };
    expect(await erin.client.request('sendgroup', outsider)).toMatchObject({ code: 'FORBIDDEN' });
    expect(await erin.client.request('members', { groupId: TEAM })).toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(await erin.client.request('sharekey', { op: 'fetch', groupId: TEAM })).toMatchObject({
      code: 'FORBIDDEN',
    });
    expect(
      await erin.client.request('sendgroup', { ...outsider, groupId: 'no-such-group' }),
    ).toMatchObject({ code: 'NOT_FOUND' });
    expect(
      await bob.client.request('sendgroup', { ...outsider, envelope: 'not base64!' }),
    ).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await groupKeyItems(TEAM, `msg#bob#${stale.messageId}`)).toHaveLength(0);
    expect(await groupKeyItems(TEAM, `msg#erin#`)).toHaveLength(0);
  });
});

describe('offline members', () => {
  it('get group messages and key-shares at reconnect exactly once, in order with 1:1 messages', async () => {
    await goOffline(stack.endpoints.dynamodb, dave);

    const direct1 = messageId();
    await bob.client.request('send', { to: 'dave', messageId: direct1, envelope: fakeEnvelope() });
    const group1 = messageId();
    const epoch = await currentEpoch(alice, TEAM);
    expect(
      await alice.client.request('sendgroup', {
        groupId: TEAM,
        epoch,
        messageId: group1,
        envelope: fakeEnvelope(),
      }),
    ).toMatchObject({ recipients: 3, deliveredTo: 2 });
    // erin joins while dave is away: her epoch's key-share for dave waits in his inbox.
    const erinEpoch = await joinAndShare(erin, TEAM);
    const group2 = messageId();
    await carol.client.request('sendgroup', {
      groupId: TEAM,
      epoch: erinEpoch,
      messageId: group2,
      envelope: fakeEnvelope(),
    });
    const direct2 = messageId();
    await alice.client.request('send', {
      to: 'dave',
      messageId: direct2,
      envelope: fakeEnvelope(),
    });

    const back = await TestClient.connect(url);
    const resumed = await back.request('resume', { token: dave.token, deviceId: dave.deviceId });
    expect(resumed).toMatchObject({ type: 'ok' });
    const missed: Message[] = [];
    for (let i = 0; i < (resumed.pending as number); i++)
      missed.push(
        await back.waitFor((m) =>
          ['message', 'group-message', 'key-share'].includes(m.type as string),
        ),
      );
    const seqs = missed.map((m) => m.seq as number);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    const tail = missed.slice(-5);
    expect(tail.map((m) => [m.type, m.type === 'key-share' ? m.epoch : m.messageId])).toEqual([
      ['message', direct1],
      ['group-message', group1],
      ['key-share', erinEpoch],
      ['group-message', group2],
      ['message', direct2],
    ]);
    expect(tail[1]).toMatchObject({ from: 'alice', groupId: TEAM, envelope: expect.any(String) });
    expect(tail[2]).toMatchObject({ from: 'erin', statement: expect.any(String) });

    // Acked: the next reconnect brings nothing again.
    await back.request('ack', { seq: seqs.at(-1) });
    back.close();
    const again = await TestClient.connect(url);
    expect(
      await again.request('resume', { token: dave.token, deviceId: dave.deviceId }),
    ).toMatchObject({ type: 'ok', pending: 0 });
    expect(await again.silentFor(300)).toBe(true);
    dave.client = again;
  });

  it('lets a member fetch every key-share it was given, with each epoch statement, page by page', async () => {
    const first = await dave.client.request('sharekey', { op: 'fetch', groupId: TEAM });
    expect(first).toMatchObject({ type: 'ok', groupId: TEAM });
    const shares = [...(first.keyShares as Message[])];
    let next = first.next;
    while (next !== undefined) {
      const page = await dave.client.request('sharekey', {
        op: 'fetch',
        groupId: TEAM,
        after: next,
      });
      shares.push(...(page.keyShares as Message[]));
      next = page.next;
    }
    const epochs = shares.map((s) => s.epoch as number);
    // dave joined at epoch 4 and got a share of every later epoch.
    expect(epochs[0]).toBe(4);
    expect(epochs.at(-1)).toBe(await currentEpoch(dave, TEAM));
    expect([...epochs].sort((a, b) => a - b)).toEqual(epochs);
    expect(
      shares.every((s) => typeof s.statement === 'string' && typeof s.envelope === 'string'),
    ).toBe(true);
  });
});

describe('several groups', () => {
  it('keeps each group to its members: a user in two groups gets both, others only theirs', async () => {
    const side = `side-${randomUUID().slice(0, 6)}`;
    expect(await bob.client.request('join', { groupId: side })).toMatchObject({ created: true });
    await bob.client.request('sharekey', epochFrame(side, 1, ['bob']));
    const epoch = await joinAndShare(erin, side);
    const teamEpoch = await currentEpoch(bob, TEAM);
    const inSide = messageId();
    const inTeam = messageId();
    await bob.client.request('sendgroup', {
      groupId: side,
      epoch,
      messageId: inSide,
      envelope: fakeEnvelope(),
    });
    await bob.client.request('sendgroup', {
      groupId: TEAM,
      epoch: teamEpoch,
      messageId: inTeam,
      envelope: fakeEnvelope(),
    });
    expect(await erin.client.waitFor(isEvent('group-message', inSide))).toMatchObject({
      groupId: side,
    });
    expect(await erin.client.waitFor(isEvent('group-message', inTeam))).toMatchObject({
      groupId: TEAM,
    });
    await carol.client.waitFor(isEvent('group-message', inTeam));
    expect(await neverGets(carol, isEvent('group-message', inSide))).toBe(true);
    const { Item } = await db().send(
      new GetCommand({ TableName: localTableName('groups'), Key: { groupId: side } }),
    );
    expect(Item!.memberCount).toBe(2);
  });
});
