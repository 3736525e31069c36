/**
 * The group protocol's server side against the local stack (issue 9 points 1, 2 and 9): every
 * statement and artefact is checked before the roster or an epoch changes, so no member can wedge
 * a group; concurrent and silent joiners, leave/join toggles and makers that never finish
 * deadlock nothing; admins remove and add, closed groups refuse joins. Each refused attack is
 * followed by a valid epoch and a message, to show the group is still usable. The claim deadline
 * and the rejoin cool-down are lowered through the local stack's own limits.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../infra/local/stack';
import { PRODUCTION_LIMITS } from '../../lambdas/shared/limits';
import { randomBytes } from '../../client/crypto/primitives';
import { fakeEnvelope, type TestUser } from '../../tools/accounts';
import {
  addMember,
  epochFrame,
  join,
  joinArtefact,
  leave,
  nextStatement,
  removeMember,
  rosterOf,
  signerOf,
  signupGroupUser,
  storeEpoch,
} from '../../tools/group-actors';
import { StatementBuilder, joinRequest, makeSigners } from '../../tools/group-statements';
import { startTestStack } from '../../tools/local-stack';
import { memberIds } from '../../protocol/group-statement';
import { artefactSubject, artefactToBase64 } from '../../protocol/group-artefacts';

const CLAIM_MS = 1500;
const COOLDOWN_MS = 1500;
let stack: LocalStack;
let url: string;
const users = new Map<string, TestUser>();
const user = (name: string) => users.get(name)!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const newGroup = () => `p-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  stack = await startTestStack({
    serverLimits: { epochClaimMs: CLAIM_MS, groupRejoinCooldownMs: COOLDOWN_MS },
  });
  url = stack.endpoints.websocket;
  const names = ['alice', 'bob', 'carol', 'mallory', 'dave', 'erin', 'frank', 'grace', 'heidi'];
  for (const name of names) users.set(name, await signupGroupUser(url, name));
}, 120_000);
afterAll(async () => {
  for (const each of users.values()) each.client.close();
  await stack.stop();
});

/** A group of `names` (the first creates it), each epoch stored, all current. */
async function establish(groupId: string, names: readonly string[]): Promise<void> {
  for (const name of names) expect(await join(user(name), groupId)).toMatchObject({ type: 'ok' });
  expect(await storeEpoch(user(names[0]!), groupId)).toMatchObject({ epoch: 1, current: true });
  if (names.length > 1)
    expect(await storeEpoch(user(names[0]!), groupId)).toMatchObject({ epoch: 2, current: true });
}

const epochOf = async (groupId: string) => (await rosterOf(user('alice'), groupId)).epoch;

/** The group is usable: `maker` stores a valid next epoch and a message reaches `reader`. */
async function stillUsable(groupId: string, maker: string, reader: string): Promise<void> {
  const stored = await storeEpoch(user(maker), groupId);
  expect(stored, JSON.stringify(stored).slice(0, 300)).toMatchObject({
    type: 'ok',
    current: true,
  });
  const messageId = randomUUID();
  expect(
    await user(maker).client.request('sendgroup', {
      groupId,
      epoch: stored.epoch,
      messageId,
      envelope: fakeEnvelope(),
    }),
  ).toMatchObject({ type: 'ok' });
  await user(reader).client.waitFor((m) => m.type === 'group-message' && m.messageId === messageId);
}

describe('statements the server refuses (no member can wedge a group)', () => {
  it('refuses a forged, a mis-chained, a wrong-member-list, an artefact-less addition and a far-future statement; the group stays usable', async () => {
    const groupId = newGroup();
    await establish(groupId, ['alice', 'bob', 'mallory']);
    // erin joined the roster but no epoch carries her yet.
    expect(await join(user('erin'), groupId)).toMatchObject({ joined: true });
    const roster = await rosterOf(user('mallory'), groupId);
    const previous = roster.statement!;
    const builder = new StatementBuilder([signerOf('alice'), signerOf('bob')]);
    const mallory = signerOf('mallory');
    const { stranger } = await makeSigners(['stranger']);
    const now = Date.now();
    const attacks = {
      // Signed with a key that is not mallory's published one.
      forged: await builder.next(previous, { ...mallory, sign: stranger.sign }, { createdAt: now }),
      // Says alice made it (signed by mallory).
      impersonating: await builder.next(previous, { ...mallory, id: 'alice' }, { createdAt: now }),
      misChained: await builder.next(previous, mallory, {
        createdAt: now,
        previousHash: randomBytes(32),
      }),
      // Drops bob without his leave or an admin's removal.
      wrongMembers: await builder.next(previous, mallory, {
        createdAt: now,
        kind: 'change',
        members: ['alice', 'mallory'],
      }),
      // Names erin as a member without her join request.
      artefactLess: await builder.next(previous, mallory, {
        createdAt: now,
        kind: 'change',
        members: ['alice', 'bob', 'erin', 'mallory'],
      }),
      farFuture: await builder.next(previous, mallory, {
        createdAt: now + 60 * 60_000,
        additions: roster.pendingAdditions,
      }),
    };
    const expected = {
      forged: ['BAD_REQUEST', 'BAD_SIGNATURE'],
      impersonating: ['FORBIDDEN', 'made by alice'],
      misChained: ['CONFLICT', 'EPOCH_FORK'],
      wrongMembers: ['BAD_REQUEST', 'MEMBERS_MISMATCH'],
      artefactLess: ['BAD_REQUEST', 'MEMBERS_MISMATCH'],
      farFuture: ['BAD_REQUEST', 'FROM_THE_FUTURE'],
    } as const;
    for (const [name, statement] of Object.entries(attacks)) {
      const [code, reason] = expected[name as keyof typeof expected];
      const reply = await user('mallory').client.request('sharekey', await epochFrame(statement));
      expect(reply, name).toMatchObject({ type: 'error', code });
      expect(reply.message, name).toContain(reason);
    }
    // Nothing moved and nothing is claimed: bob makes the next epoch at once, and it carries erin.
    expect(await epochOf(groupId)).toBe(previous.epoch);
    await stillUsable(groupId, 'bob', 'alice');
    const after = await rosterOf(user('alice'), groupId);
    expect(after.statement!.members.map((m) => m.userId)).toContain('erin');
    expect(after.pendingAdditions).toEqual([]);
  });

  it('refuses a join request that is forged, another user’s, for another group or stale; joins nothing', async () => {
    const groupId = newGroup();
    await establish(groupId, ['alice']);
    const dave = user('dave');
    const cases: [string, string, string][] = [
      ['not an artefact', Buffer.from('{"kind":"join"}').toString('base64'), 'MALFORMED'],
      ['another user’s', await joinArtefact('erin', groupId), 'signed by erin'],
      ['another group’s', await joinArtefact('dave', 'elsewhere'), 'BAD_ARTEFACT'],
      ['stale', await joinArtefact('dave', groupId, Date.now() - 10 * 60_000), 'STALE_ARTEFACT'],
    ];
    cases.push([
      'signed by another key',
      artefactToBase64(
        await joinRequest({ ...signerOf('mallory'), id: 'dave' }, groupId, Date.now()),
      ),
      'BAD_ARTEFACT_SIGNATURE',
    ]);
    for (const [name, request, reason] of cases) {
      const reply = await dave.client.request('join', { groupId, request });
      expect(reply, name).toMatchObject({ type: 'error', code: 'BAD_REQUEST' });
      expect(reply.message, name).toContain(reason);
    }
    expect((await rosterOf(user('alice'), groupId)).members).toEqual(['alice']);
  });
});

describe('joins, leaves and makers that never finish deadlock nothing', () => {
  it('two concurrent joiners: one epoch wins, the other is stored on top of it', async () => {
    const groupId = newGroup();
    await establish(groupId, ['alice', 'bob']);
    await Promise.all([join(user('dave'), groupId), join(user('erin'), groupId)]);
    // Each built on the same epoch, adding only itself.
    const roster = await rosterOf(user('dave'), groupId);
    const own = (name: string) =>
      roster.pendingAdditions.filter((a) => artefactSubject(a) === name);
    const [byDave, byErin] = await Promise.all([
      nextStatement(user('dave'), groupId, { additions: own('dave') }),
      nextStatement(user('erin'), groupId, { additions: own('erin') }),
    ]);
    const replies = await Promise.all([
      user('dave').client.request('sharekey', await epochFrame(byDave)),
      user('erin').client.request('sharekey', await epochFrame(byErin)),
    ]);
    expect(replies.map((r) => r.type).sort()).toEqual(['error', 'ok']);
    const loser = replies[0]!.type === 'error' ? 'dave' : 'erin';
    expect(replies.find((r) => r.type === 'error')).toMatchObject({ code: 'CONFLICT' });
    // The loser is still pending; it rebuilds on the winner's epoch.
    expect((await rosterOf(user('alice'), groupId)).pendingAdditions.map(artefactSubject)).toEqual([
      loser,
    ]);
    expect(await storeEpoch(user(loser), groupId)).toMatchObject({ type: 'ok', current: true });
    const final = await rosterOf(user('alice'), groupId);
    expect(memberIds(final.statement!)).toEqual(['alice', 'bob', 'dave', 'erin']);
    await stillUsable(groupId, 'alice', 'erin');
  });

  it('a silent joiner followed by another joiner: the second epoch is stored, the silent one stays pending until an epoch carries it', async () => {
    const groupId = newGroup();
    await establish(groupId, ['alice', 'bob']);
    expect(await join(user('frank'), groupId)).toMatchObject({ joined: true }); // and says nothing
    expect(await join(user('grace'), groupId)).toMatchObject({ joined: true });
    const roster = await rosterOf(user('grace'), groupId);
    const graceOnly = roster.pendingAdditions.filter((a) => artefactSubject(a) === 'grace');
    const stored = await storeEpoch(
      user('grace'),
      groupId,
      await nextStatement(user('grace'), groupId, { additions: graceOnly }),
    );
    expect(stored).toMatchObject({ type: 'ok', current: true });
    const after = await rosterOf(user('alice'), groupId);
    expect(after.pendingAdditions.map(artefactSubject)).toEqual(['frank']);
    // Any member's next epoch carries him.
    expect(await storeEpoch(user('bob'), groupId)).toMatchObject({ current: true });
    expect(memberIds((await rosterOf(user('alice'), groupId)).statement!)).toContain('frank');
  });

  it('a leave/join toggle while others rotate: the quick rejoin is refused, the rotation goes through', async () => {
    const groupId = newGroup();
    await establish(groupId, ['alice', 'bob', 'carol']);
    // A statement made before carol left keeps her.
    const stale = await nextStatement(user('bob'), groupId);
    expect(await leave(user('carol'), groupId)).toMatchObject({ left: true });
    const again = await join(user('carol'), groupId);
    expect(again).toMatchObject({ type: 'error', code: 'RATE_LIMITED' });
    expect(again.message).toContain('joining again is possible in');
    expect(await user('bob').client.request('sharekey', await epochFrame(stale))).toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('carol left since'),
    });
    // alice's rotation carries carol's leave.
    const rotated = await storeEpoch(user('alice'), groupId);
    expect(rotated).toMatchObject({ current: true });
    expect(memberIds(rotated.statement)).toEqual(['alice', 'bob']);
    expect(rotated.statement.removals.map((r) => r.kind)).toEqual(['leave']);
    // After the cool-down she may come back, with a new epoch.
    await sleep(COOLDOWN_MS + 100);
    expect(await join(user('carol'), groupId)).toMatchObject({ joined: true });
    expect(await storeEpoch(user('carol'), groupId)).toMatchObject({ current: true });
    await stillUsable(groupId, 'bob', 'carol');
  });

  it('a message on an epoch a departed member still holds is refused until the next epoch', async () => {
    const groupId = newGroup();
    await establish(groupId, ['alice', 'bob', 'carol']);
    const epoch = await epochOf(groupId);
    expect(await leave(user('carol'), groupId)).toMatchObject({ left: true });
    // bob has not rotated yet (say he has not heard of the leave): his send is refused, not
    // sealed under a key carol still holds.
    const messageId = randomUUID();
    const send = { groupId, epoch, messageId, envelope: fakeEnvelope() };
    expect(await user('bob').client.request('sendgroup', send)).toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('carol left'),
    });
    const rotated = await storeEpoch(user('bob'), groupId);
    expect(rotated).toMatchObject({ epoch: epoch + 1, current: true });
    // The same message id on the new epoch goes out once.
    expect(
      await user('bob').client.request('sendgroup', { ...send, epoch: epoch + 1 }),
    ).toMatchObject({ type: 'ok', duplicate: false });
    await user('alice').client.waitFor(
      (m) => m.type === 'group-message' && m.messageId === messageId,
    );
  });

  it('a maker that claims an epoch and never stores every key-share is overtaken after the deadline', async () => {
    const groupId = newGroup();
    await establish(groupId, ['alice', 'bob', 'carol']);
    const epoch = (await epochOf(groupId)) + 1;
    const bobs = await nextStatement(user('bob'), groupId);
    const frame = await epochFrame(bobs);
    const partial = { ...frame, keyShares: frame.keyShares.slice(0, 1) };
    expect(await user('bob').client.request('sharekey', partial)).toMatchObject({
      current: false,
      missing: expect.arrayContaining(['carol']),
    });
    // While the claim is live: others wait, messages go on in the current epoch.
    expect(await storeEpoch(user('alice'), groupId)).toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('being made by bob'),
    });
    const messageId = randomUUID();
    expect(
      await user('carol').client.request('sendgroup', {
        groupId,
        epoch: epoch - 1,
        messageId,
        envelope: fakeEnvelope(),
      }),
    ).toMatchObject({ type: 'ok' });
    await sleep(CLAIM_MS + 100);
    expect(await storeEpoch(user('alice'), groupId)).toMatchObject({
      type: 'ok',
      epoch,
      current: true,
    });
    // bob comes back: his claim is gone, and his shares were replaced by alice's.
    const rest = { ...frame, keyShares: frame.keyShares.slice(1) };
    expect(await user('bob').client.request('sharekey', rest)).toMatchObject({ code: 'CONFLICT' });
    const share = await user('bob').client.request('sharekey', { op: 'fetch', groupId });
    const shares = share.keyShares as { epoch: number; from: string }[];
    expect(shares.find((s) => s.epoch === epoch)).toMatchObject({ from: 'alice' });
    await stillUsable(groupId, 'carol', 'bob');
  });
});

describe('blocking (issue 9 point 11)', () => {
  it('a key-share from a user the member blocks is stored, the epoch completes, but the blocker is neither pushed nor served it', async () => {
    const groupId = newGroup();
    await establish(groupId, ['alice', 'bob', 'carol']);
    expect(await user('carol').client.request('block', { op: 'add', userId: 'bob' })).toMatchObject(
      { type: 'ok' },
    );
    const stored = await storeEpoch(user('bob'), groupId);
    expect(stored).toMatchObject({ current: true, stored: 3 });
    const epoch = stored.epoch as number;
    const ofEpoch = (m: Record<string, unknown>) =>
      m.groupId === groupId && m.epoch === epoch && (m.type === 'epoch' || m.type === 'key-share');
    expect(await user('alice').client.waitFor(ofEpoch)).toMatchObject({ type: 'key-share' });
    expect(await user('carol').client.waitFor(ofEpoch)).toMatchObject({
      type: 'epoch',
      from: 'bob',
    });
    const page = (await user('carol').client.request('ack', { through: { [`g:${groupId}`]: 0 } }))
      .page as { events: Record<string, unknown>[] };
    expect(page.events.find(ofEpoch)).toMatchObject({ type: 'epoch' });
    const fetched = await user('carol').client.request('sharekey', { op: 'fetch', groupId });
    expect((fetched.keyShares as { epoch: number }[]).map((s) => s.epoch)).not.toContain(epoch);
    // Her client rekeys, and the group goes on.
    await stillUsable(groupId, 'carol', 'alice');
    await user('carol').client.request('block', { op: 'remove', userId: 'bob' });
  });
});

describe('admins', () => {
  it('only an admin removes a member, and only an admin statement may carry the removal', async () => {
    const groupId = newGroup();
    await establish(groupId, ['alice', 'bob', 'mallory']);
    const mallorysNext = await nextStatement(user('mallory'), groupId);
    expect(await removeMember(user('bob'), 'mallory', groupId)).toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining('Only an admin'),
    });
    expect(await removeMember(user('alice'), 'alice', groupId)).toMatchObject({
      code: 'BAD_REQUEST',
    });
    expect(await removeMember(user('alice'), 'mallory', groupId)).toMatchObject({
      removed: true,
      memberCount: 2,
    });
    await user('mallory').client.waitFor((m) => m.type === 'member-left' && m.groupId === groupId);
    const roster = await rosterOf(user('bob'), groupId);
    expect(roster.pendingRemovals.map((r) => r.kind)).toEqual(['admin-remove']);
    // Any member may make the epoch that carries it; mallory can no longer store anything.
    expect(await storeEpoch(user('mallory'), groupId, mallorysNext)).toMatchObject({
      code: 'FORBIDDEN',
    });
    const rotated = await storeEpoch(user('bob'), groupId);
    expect(rotated).toMatchObject({ current: true });
    expect(memberIds(rotated.statement)).toEqual(['alice', 'bob']);
    expect(rotated.statement.members.filter((m) => m.admin).map((m) => m.userId)).toEqual([
      'alice',
    ]);
  });

  it('a closed group refuses a join and accepts an admin’s addition', async () => {
    const groupId = newGroup();
    await establish(groupId, ['alice', 'bob']);
    // bob is no admin: he cannot close it.
    const bobCloses = await nextStatement(user('bob'), groupId, { kind: 'change', closed: true });
    expect(await user('bob').client.request('sharekey', await epochFrame(bobCloses))).toMatchObject(
      { code: 'FORBIDDEN', message: expect.stringContaining('NOT_AN_ADMIN') },
    );
    const closes = await nextStatement(user('alice'), groupId, { kind: 'change', closed: true });
    expect(await storeEpoch(user('alice'), groupId, closes)).toMatchObject({ current: true });
    expect(await rosterOf(user('bob'), groupId)).toMatchObject({ closed: true, admins: ['alice'] });

    expect(await join(user('heidi'), groupId)).toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining('closed'),
    });
    expect(await addMember(user('bob'), 'heidi', groupId)).toMatchObject({ code: 'FORBIDDEN' });
    expect(await addMember(user('alice'), 'heidi', groupId)).toMatchObject({
      added: true,
      memberCount: 3,
    });
    const added = await storeEpoch(user('bob'), groupId);
    expect(added).toMatchObject({ current: true });
    expect(added.statement.additions.map((a) => a.kind)).toEqual(['admin-add']);
    await stillUsable(groupId, 'heidi', 'alice');
  });

  it('the claim deadline and the rejoin cool-down are 60 s in production', () => {
    expect(PRODUCTION_LIMITS.epochClaimMs).toBe(60_000);
    expect(PRODUCTION_LIMITS.groupRejoinCooldownMs).toBe(60_000);
  });
});
