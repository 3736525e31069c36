/** Group epochs, key-shares and group messages through the local gateway: written once into the group's log, read by each member from its join, nothing lost offline. */
import { randomUUID } from 'node:crypto';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { localTableName } from '../../infra/local/names';
import { joinGroup } from '../../lambdas/commands/join';
import { makeDynamoClient } from '../../lambdas/runtime/aws';
import { fakeEnvelope, goOffline, resumeUser, type TestUser } from '../../tools/accounts';
import {
  epochFrame,
  join,
  joinArtefact,
  nextStatement,
  publishSignerInStore,
  signupGroupUser,
  storeEpoch,
} from '../../tools/group-actors';
import { CatchUpClient } from '../support/catch-up';
import { asUser, quickUsers } from '../support/deps';
import { startTestStack } from '../../tools/local-stack';

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

async function currentEpoch(user: TestUser, groupId: string): Promise<number> {
  return (await user.client.request('members', { groupId })).epoch as number;
}

/** `user` joins and makes the next epoch for the new member list (its signed statement). */
async function joinAndShare(user: TestUser, groupId: string): Promise<number> {
  const joined = await join(user, groupId);
  expect(joined.type).toBe('ok');
  const epoch = (joined.epoch as number) + 1;
  const stored = await storeEpoch(user, groupId);
  expect(stored, JSON.stringify(stored)).toMatchObject({ type: 'ok', epoch, current: true });
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

const itemsOf = async (table: 'inbox' | 'groupLog', key: 'userId' | 'groupId', value: string) =>
  (
    await db().send(
      new QueryCommand({
        TableName: localTableName(table),
        KeyConditionExpression: '#k = :v',
        ExpressionAttributeNames: { '#k': key },
        ExpressionAttributeValues: { ':v': value },
        ConsistentRead: true,
      }),
    )
  ).Items!;
const inboxItems = (userId: string) => itemsOf('inbox', 'userId', userId);
const logEntries = (groupId: string) => itemsOf('groupLog', 'groupId', groupId);

const groupKeyItems = async (groupId: string, prefix: string) =>
  (
    await db().send(
      new QueryCommand({
        TableName: localTableName('groupEpochs'),
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
    ['alice', 'bob', 'carol', 'dave', 'erin'].map((name) => signupGroupUser(url, name)),
  )) as [TestUser, TestUser, TestUser, TestUser, TestUser];
  // alice creates the team and makes epoch 1; bob, carol and dave join, each making the next epoch.
  const created = await join(alice, TEAM);
  expect(created).toMatchObject({ created: true, epoch: 0 });
  expect(await storeEpoch(alice, TEAM)).toMatchObject({
    type: 'ok',
    epoch: 1,
    stored: 1,
    current: true,
  });
  for (const user of [bob, carol, dave]) await joinAndShare(user, TEAM);
});
afterAll(() => stack.stop());

describe('sharekey', () => {
  it('stored each epoch once, with a key-share pushed to each member of it and one log entry', async () => {
    expect(await currentEpoch(alice, TEAM)).toBe(4);
    // dave's epoch 4 reached every other member live, with its statement...
    for (const user of [alice, bob, carol]) {
      const share = await user.client.waitFor(
        (m) => m.type === 'key-share' && m.groupId === TEAM && m.epoch === 4,
      );
      expect(share).toMatchObject({
        from: 'dave',
        stream: `g:${TEAM}`,
        statement: expect.any(String),
      });
      expect(share).not.toHaveProperty('seq');
    }
    // ...and is one entry of the log, which each reader gets with its own key-share.
    const epochs = (await logEntries(TEAM)).filter((entry) => entry.kind === 'epoch');
    expect(epochs.map((entry) => entry.epoch)).toEqual([1, 2, 3, 4]);
    const page = (await dave.client.request('ack', { through: { [`g:${TEAM}`]: 0 } })).page as {
      events: Message[];
    };
    const mine = page.events.find((e) => e.type === 'key-share' && e.epoch === 4);
    const sharesOf4 = (await groupKeyItems(TEAM, 'share#dave#')).filter((s) => s.epoch === 4);
    expect(mine).toMatchObject({ seq: epochs[3]!.seq, envelope: sharesOf4[0]!.envelope });
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
    const next = await nextStatement(alice, TEAM);
    const claimsBefore = (await groupKeyItems(TEAM, 'claim#')).length;
    expect(await erin.client.request('sharekey', await epochFrame(next))).toMatchObject({
      code: 'FORBIDDEN',
    });
    for (const wrong of [epoch + 2, epoch, 1]) {
      const statement = await nextStatement(alice, TEAM, { epoch: wrong });
      const refused = await alice.client.request('sharekey', await epochFrame(statement));
      expect(refused).toMatchObject({ code: 'CONFLICT' });
      expect(refused.message).toContain(`current epoch is ${epoch}`);
    }
    expect(
      await alice.client.request('sharekey', await epochFrame(next, [...all, 'erin'])),
    ).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('"erin" is not') });
    expect(
      await alice.client.request('sharekey', await epochFrame(next, ['alice', 'alice'])),
    ).toMatchObject({ code: 'BAD_REQUEST' });
    expect(
      await alice.client.request('sharekey', {
        ...(await epochFrame(next)),
        groupId: 'no-such-group',
      }),
    ).toMatchObject({ code: 'NOT_FOUND' });
    // None of these took a claim.
    expect(await groupKeyItems(TEAM, 'claim#')).toHaveLength(claimsBefore);
    const { Item } = await db().send(
      new GetCommand({ TableName: localTableName('groups'), Key: { groupId: TEAM } }),
    );
    expect(Item).not.toHaveProperty('claimEpoch');
    expect(await currentEpoch(alice, TEAM)).toBe(epoch);
    expect(await groupKeyItems(TEAM, 'epoch#')).toHaveLength(epoch);
  });

  it('lets exactly one of two concurrent epochs with the same number win; the loser retries on top', async () => {
    const epoch = (await currentEpoch(alice, TEAM)) + 1;
    const [byBob, byCarol] = await Promise.all([
      nextStatement(bob, TEAM),
      nextStatement(carol, TEAM),
    ]);
    const replies = await Promise.all([
      bob.client.request('sharekey', await epochFrame(byBob)),
      carol.client.request('sharekey', await epochFrame(byCarol)),
    ]);
    expect(replies.map((r) => r.type).sort()).toEqual(['error', 'ok']);
    const loser = replies.findIndex((r) => r.type === 'error');
    expect(replies[loser]).toMatchObject({ code: 'CONFLICT' });
    expect((await groupKeyItems(TEAM, 'epoch#')).length).toBe(epoch);
    const retry = await storeEpoch([bob, carol][loser]!, TEAM);
    expect(retry).toMatchObject({ type: 'ok', epoch: epoch + 1, stored: 4, current: true });
  });

  it('takes a big epoch in several frames (later ones may carry only the hash), current once every key-share is stored', async () => {
    const epoch = (await currentEpoch(alice, TEAM)) + 1;
    const statement = await nextStatement(alice, TEAM);
    const frame = await epochFrame(statement);
    const hashOnly = await epochFrame(statement, undefined, { hashOnly: true });
    const part = (keyShares: typeof frame.keyShares, base: object = frame) => ({
      ...base,
      keyShares,
    });
    expect(await alice.client.request('sharekey', part(frame.keyShares.slice(0, 2)))).toMatchObject(
      { type: 'ok', stored: 2, current: false, missing: ['carol', 'dave'] },
    );
    // Not current yet: messages go on in the old epoch, and nobody was told.
    expect(await currentEpoch(alice, TEAM)).toBe(epoch - 1);
    expect(await neverGets(bob, (m) => m.type === 'key-share' && m.epoch === epoch)).toBe(true);
    // Someone else cannot add to alice's epoch, nor make another while her claim is live.
    expect(await bob.client.request('sharekey', part(frame.keyShares.slice(0, 1)))).toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining('made by alice'),
    });
    expect(await storeEpoch(bob, TEAM)).toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('being made by alice'),
    });
    expect(
      await alice.client.request('sharekey', part(frame.keyShares.slice(1, 4), hashOnly)),
    ).toMatchObject({ type: 'ok', stored: 2, current: true, missing: [] });
    expect(await groupKeyItems(TEAM, `share#bob#${String(epoch).padStart(10, '0')}`)).toHaveLength(
      1,
    );
    for (const user of [bob, carol, dave])
      await user.client.waitFor((m) => m.type === 'key-share' && m.epoch === epoch);
    // A replay once current stores and pushes nothing.
    expect(await alice.client.request('sharekey', frame)).toMatchObject({
      type: 'ok',
      current: true,
      stored: 0,
      deliveredTo: 0,
    });
  });
});

describe('sendgroup', () => {
  it('reaches every member but the sender; the body is written once into the log, nothing per member', async () => {
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
    for (const user of [bob, carol, dave]) {
      const pushed = await user.client.waitFor(isEvent('group-message', id));
      expect(pushed).toMatchObject({
        stream: `g:${TEAM}`,
        groupId: TEAM,
        epoch,
        from: 'alice',
        envelope,
      });
      expect(pushed).not.toHaveProperty('seq');
    }
    expect(await neverGets(alice, isEvent('group-message', id))).toBe(true);

    // A retry stores nothing new: its own number is passed over.
    expect(
      await alice.client.request('sendgroup', { groupId: TEAM, epoch, messageId: id, envelope }),
    ).toMatchObject({ type: 'ok', duplicate: true });

    const entries = (await logEntries(TEAM)).filter((entry) => entry.messageId === id);
    expect(entries.map((entry) => entry.kind).sort()).toEqual(['message', 'skipped']);
    expect(entries.find((entry) => entry.kind === 'message')!.envelope).toBe(envelope);
    expect(entries.find((entry) => entry.kind === 'skipped')).not.toHaveProperty('envelope');
    for (const user of ['alice', 'bob', 'carol', 'dave'])
      expect((await inboxItems(user)).some((item) => item.messageId === id)).toBe(false);
  });

  it('writes the message once when three attempts of it race', async () => {
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
    // Attempts that lost the race store their numbers as skipped, so no page waits for them.
    const stored = (await logEntries(TEAM)).filter((entry) => entry.messageId === id);
    expect(stored.map((entry) => entry.kind).sort()).toEqual(['message', 'skipped', 'skipped']);
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
    const refusedIds = [stale.messageId, outsider.messageId];
    expect((await logEntries(TEAM)).filter((e) => refusedIds.includes(e.messageId))).toEqual([]);
  });
});

describe('offline members', () => {
  it('get group messages, joins and key-shares in their first page exactly once, in log order', async () => {
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
    // erin joins while dave is away: her join and her epoch's key-share for dave wait in the log.
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

    const back = await resumeUser(url, dave);
    const reader = new CatchUpClient(back.client);
    await reader.follow(back.page);
    const inbox = reader.processed.filter((e) => e.stream === 'inbox');
    expect(inbox.slice(-2).map((e) => e.messageId)).toEqual([direct1, direct2]);
    const team = reader.processed.filter((e) => e.stream === `g:${TEAM}`);
    expect(
      team.slice(-4).map((e) => [e.type, e.type === 'key-share' ? e.epoch : e.messageId]),
    ).toEqual([
      ['group-message', group1],
      ['member-joined', `member-joined:${TEAM}:${team.at(-3)!.seq}`],
      ['key-share', erinEpoch],
      ['group-message', group2],
    ]);
    expect(team.at(-3)).toMatchObject({ userId: 'erin', memberCount: 5 });
    expect(team.at(-2)).toMatchObject({ from: 'erin', statement: expect.any(String) });
    const seqs = team.map((e) => e.seq!);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);

    // Acked: the next reconnect brings nothing again.
    await reader.ack(reader.through);
    back.client.close();
    const again = await resumeUser(url, dave);
    expect(again.page).toMatchObject({ events: [], more: false });
    // It looked at every stream of the device: the inbox and each group.
    expect(again.page.through).toEqual({
      inbox: reader.through.inbox,
      [`g:${TEAM}`]: reader.through[`g:${TEAM}`],
    });
    dave.client = again.client;
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

describe('replays (issue 9 point 12)', () => {
  it('a replayed sharekey frame stores nothing new and pushes nothing, and key-shares are rate-limited', async () => {
    const groupId = `replay-${randomUUID().slice(0, 6)}`;
    const [ivan, judy] = await Promise.all([
      signupGroupUser(url, 'ivan'),
      signupGroupUser(url, 'judy'),
    ]);
    await join(ivan, groupId);
    await storeEpoch(ivan, groupId);
    await join(judy, groupId);
    // Six more members (offline), so that each replay counts eight key-shares.
    const others = await quickUsers(Array.from({ length: 6 }, (_, i) => `r${i}-${groupId}`));
    for (const other of others) {
      await publishSignerInStore(other.username);
      const { deps, context } = asUser(stack.endpoints.managementApi, other.username);
      const request = await joinArtefact(other.username, groupId);
      await joinGroup(deps, { action: 'join', id: 'j', groupId, request }, context);
    }
    const frame = await epochFrame(await nextStatement(ivan, groupId));
    expect(await ivan.client.request('sharekey', frame)).toMatchObject({
      type: 'ok',
      epoch: 2,
      stored: 8,
      deliveredTo: 1,
    });
    const logBefore = await logEntries(groupId);
    let limited: Message | undefined;
    // 1024 key-shares a minute: 300 replays of 8 are over it in one window or the next.
    for (let replay = 0; replay < 300 && !limited; replay++) {
      const reply = await ivan.client.request('sharekey', frame);
      if (reply.type === 'error') limited = reply;
      else expect(reply).toMatchObject({ stored: 0, deliveredTo: 0 });
    }
    expect(limited).toMatchObject({
      code: 'RATE_LIMITED',
      message: expect.stringContaining('key-shares'),
    });
    expect(await logEntries(groupId)).toEqual(logBefore);
    expect((await inboxItems('judy')).length).toBe(0);
    expect((await groupKeyItems(groupId, 'share#')).filter((s) => s.epoch === 2)).toHaveLength(8);
    // judy was pushed her key-share once.
    await judy.client.waitFor((m) => m.type === 'key-share' && m.groupId === groupId);
    expect(await neverGets(judy, (m) => m.type === 'key-share' && m.groupId === groupId, 300)).toBe(
      true,
    );
  }, 120_000);
});

describe('several groups', () => {
  it('keeps each group to its members: a user in two groups gets both, others only theirs', async () => {
    const side = `side-${randomUUID().slice(0, 6)}`;
    expect(await join(bob, side)).toMatchObject({ created: true });
    expect(await storeEpoch(bob, side)).toMatchObject({ type: 'ok', current: true });
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
