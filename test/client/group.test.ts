/**
 * Group epochs on statement v2: making every kind of epoch, and what a member refuses (issue 9
 * points 1 and 2, the parts a client can check).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type GroupView,
  FingerprintMismatchError,
  createChangeEpoch,
  createJoinEpoch,
  createRekeyEpoch,
  currentEpoch,
  pruneGroupView,
} from '../../client/crypto/group';
import {
  changesToCarry,
  makeAdminChange,
  makeJoinRequest,
  makeLeave,
} from '../../client/crypto/group-membership';
import {
  INBOX_RETENTION_MS,
  generateLocalKeys,
  publicBundle,
  verifyBundle,
} from '../../client/crypto/keys';
import { openGroup, sealGroup } from '../../client/crypto/group-message';
import { MemorySeenStore } from '../../client/crypto/seen-store';
import { randomBytes } from '../../client/crypto/primitives';
import { toBase64 } from '../../protocol/bytes';
import {
  adminIds,
  decodeStatement,
  encodeStatement,
  identityFingerprint,
  keyCommitment,
  memberIds,
  statementHash,
} from '../../protocol/group-statement';
import { CLOCK_SLACK_MS } from '../../protocol/limits';
import { codeOf, refusal, rejectsWith } from '../support/crypto-errors';
import { GROUP, MINUTE, type Story, T0, makeStory, shareFor } from '../support/group-story';

let s: Story;
beforeAll(async () => {
  s = await makeStory();
});

const at = (minutes: number) => T0 + minutes * MINUTE;

describe('making epochs', () => {
  it('creates epoch 1 with its creator as the only member and admin, committing to the key', async () => {
    const { statement, epoch, keyShares } = s.epoch1;
    expect(statement).toMatchObject({ groupId: GROUP, epoch: 1, kind: 'create', maker: 'alice' });
    expect(memberIds(statement)).toEqual(['alice']);
    expect(adminIds(statement)).toEqual(['alice']);
    expect(keyShares.map((k) => k.recipientId)).toEqual(['alice']);
    expect(toBase64(statement.keyCommitment)).toBe(
      toBase64(await keyCommitment(GROUP, 1, epoch.groupKey)),
    );
  });

  it('a join gives every member the same new key, never an old key to the joiner, and reports who joined', async () => {
    const { epoch3, views } = s;
    expect(epoch3.statement).toMatchObject({ epoch: 3, kind: 'change', maker: 'carol' });
    expect(memberIds(epoch3.statement)).toEqual(['alice', 'bob', 'carol']);
    expect(epoch3.statement.additions.map((a) => a.kind)).toEqual(['join']);
    const key3 = toBase64(epoch3.epoch.groupKey);
    expect(toBase64(currentEpoch(views.alice).groupKey)).toBe(key3);
    expect(toBase64(currentEpoch(views.bob).groupKey)).toBe(key3);
    expect(views.carol.epochs.map((e) => e.epoch)).toEqual([3]);
    expect(new Set(views.alice.epochs.map((e) => toBase64(e.groupKey))).size).toBe(3);
    const accepted = await s.accept(s.epoch2.view, 'bob', epoch3);
    expect(accepted.change).toMatchObject({
      kind: 'change',
      added: ['carol'],
      removed: [],
      by: 'carol',
    });
    expect(accepted.unpinned).toEqual([]);
  });

  it('accepts a redelivered epoch as unchanged, and round-trips statements through the wire', async () => {
    const again = await s.accept(s.views.alice, 'alice', s.epoch3);
    expect(again.change).toEqual({ kind: 'unchanged' });
    expect(decodeStatement(encodeStatement(s.epoch3.statement))).toEqual(s.epoch3.statement);
  });

  it('rotates after a leave: the leaver gets no key-share and reads nothing after', async () => {
    const leave = await makeLeave({ groupId: GROUP, me: s.keys.carol, now: at(30) });
    const rotation = await createChangeEpoch({
      view: s.views.alice,
      me: s.keys.alice,
      removals: [leave],
      memberBundles: s.bundleMap('bob', 'carol'),
      now: at(31),
    });
    expect(rotation.keyShares.map((k) => k.recipientId)).toEqual(['alice', 'bob']);
    const bob = await s.accept(s.views.bob, 'bob', rotation);
    expect(bob.change).toMatchObject({ removed: ['carol'], by: 'alice' });
    const secret = await sealGroup({
      sender: s.keys.alice,
      view: rotation.view,
      messageId: 'after-carol',
      timestamp: at(32),
      body: { type: 'group-text', text: 'after carol left' },
    });
    const open = (view: GroupView, me: 'bob' | 'carol') =>
      openGroup({
        envelope: secret,
        view,
        sender: s.bundles.alice,
        authenticatedSenderId: 'alice',
        expectedType: 'group-text',
        seen: new MemorySeenStore(),
        now: at(33),
      }).then((o) => (o.body.type === 'group-text' ? o.body.text : me));
    expect(await open(bob.view, 'bob')).toBe('after carol left');
    await rejectsWith(open(s.views.carol, 'carol'), 'BAD_EPOCH');
    await rejectsWith(
      s.accept(s.views.carol, 'carol', rotation, { keyShare: shareFor(rotation, 'bob') }),
      'NOT_A_MEMBER',
    );
  });

  it('an admin removes a member; a non-admin cannot (NOT_AN_ADMIN when making it)', async () => {
    const removal = await makeAdminChange({
      kind: 'admin-remove',
      groupId: GROUP,
      me: s.keys.alice,
      target: 'bob',
      now: at(30),
    });
    const epoch = await createChangeEpoch({
      view: s.views.alice,
      me: s.keys.alice,
      removals: [removal],
      memberBundles: s.bundleMap('bob', 'carol'),
      now: at(30),
    });
    expect((await s.accept(s.views.carol, 'carol', epoch)).change).toMatchObject({
      removed: ['bob'],
    });
    const byBob = await makeAdminChange({
      kind: 'admin-remove',
      groupId: GROUP,
      me: s.keys.bob,
      target: 'carol',
      now: at(30),
    });
    await rejectsWith(
      createChangeEpoch({
        view: s.views.bob,
        me: s.keys.bob,
        removals: [byBob],
        memberBundles: s.bundleMap('alice', 'carol'),
        now: at(30),
      }),
      'NOT_AN_ADMIN',
    );
  });

  it('an admin closes the group and names another admin; joins are refused, an admin adds a member, who takes the epoch with the statement before it', async () => {
    const closing = await createChangeEpoch({
      view: s.views.alice,
      me: s.keys.alice,
      closed: true,
      admins: ['alice', 'bob'],
      memberBundles: s.bundleMap('bob', 'carol'),
      now: at(30),
    });
    const carol = await s.accept(s.views.carol, 'carol', closing);
    expect(carol.change).toMatchObject({ closedChanged: true, adminsAdded: ['bob'] });
    const daveAsks = await makeJoinRequest({ groupId: GROUP, me: s.keys.dave, now: at(31) });
    await rejectsWith(
      createJoinEpoch({
        me: s.keys.dave,
        latest: closing.statement,
        request: daveAsks,
        memberBundles: s.bundleMap('alice', 'bob', 'carol'),
        now: at(31),
      }),
      'GROUP_CLOSED',
    );
    await rejectsWith(
      createChangeEpoch({
        view: carol.view,
        me: s.keys.carol,
        closed: false,
        memberBundles: s.bundleMap('alice', 'bob'),
        now: at(31),
      }),
      'NOT_AN_ADMIN',
    );
    const addition = await makeAdminChange({
      kind: 'admin-add',
      groupId: GROUP,
      me: s.keys.bob,
      target: 'dave',
      now: at(32),
    });
    // Any member may carry an admin's addition; carol does.
    const withDave = await createChangeEpoch({
      view: carol.view,
      me: s.keys.carol,
      additions: [addition],
      memberBundles: s.bundleMap('alice', 'bob', 'dave'),
      now: at(33),
    });
    const dave = await s.accept({ groupId: GROUP, epochs: [] }, 'dave', withDave, {
      previous: closing.statement,
    });
    expect(dave.view.epochs.map((e) => e.epoch)).toEqual([5]);
    expect(dave.change).toMatchObject({ added: ['dave'] });
    await rejectsWith(s.accept({ groupId: GROUP, epochs: [] }, 'dave', withDave), 'BAD_EPOCH');
  });

  it('a rekey changes only the key', async () => {
    const rekey = await createRekeyEpoch({
      view: s.views.bob,
      me: s.keys.bob,
      memberBundles: s.bundleMap('alice', 'carol'),
      now: at(30),
    });
    expect(rekey.statement.kind).toBe('rekey');
    const alice = await s.accept(s.views.alice, 'alice', rekey);
    expect(alice.change).toMatchObject({ kind: 'rekey', added: [], removed: [], by: 'bob' });
    expect(toBase64(alice.epoch.groupKey)).not.toBe(toBase64(currentEpoch(s.views.alice).groupKey));
  });

  it("computes what the next epoch must carry from the server's roster", async () => {
    const daveJoin = await makeJoinRequest({ groupId: GROUP, me: s.keys.dave, now: at(30) });
    const carolLeft = await makeLeave({ groupId: GROUP, me: s.keys.carol, now: at(30) });
    const changes = changesToCarry(s.views.bob, {
      members: new Map([
        ['alice', {}],
        ['bob', {}],
        ['dave', { pending: daveJoin }],
      ]),
      departed: new Map([
        ['carol', carolLeft],
        ['erin', await makeLeave({ groupId: GROUP, me: s.keys.erin, now: at(1) })],
      ]),
    });
    expect(changes).toEqual({ additions: [daveJoin], removals: [carolLeft] });
    const next = await createChangeEpoch({
      view: s.views.bob,
      me: s.keys.bob,
      ...changes,
      memberBundles: s.bundleMap('alice', 'carol', 'dave'),
      now: at(31),
    });
    expect(memberIds(next.statement)).toEqual(['alice', 'bob', 'dave']);
  });

  it('keeps old epochs while a message could still need them, then prunes them', () => {
    const soon = pruneGroupView(s.views.alice, T0 + INBOX_RETENTION_MS);
    expect(soon.epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    const later = pruneGroupView(s.views.alice, at(20) + INBOX_RETENTION_MS + 2 * 24 * 60 * MINUTE);
    expect(later.epochs.map((e) => e.epoch)).toEqual([3]);
  });
});

describe('what a member refuses (issue 9 points 1 and 2)', () => {
  const base = async () => ({
    groupId: GROUP,
    epoch: 4,
    kind: 'change' as const,
    maker: 'bob',
    previousHash: await statementHash(s.epoch3.statement),
    createdAt: at(30),
    closed: false,
    members: s.epoch3.statement.members,
    additions: [],
    removals: [],
  });

  it('a forged statement (BAD_SIGNATURE) and a mis-chained one (EPOCH_FORK, BAD_EPOCH)', async () => {
    const rekey = { ...(await base()), kind: 'rekey' as const };
    const forged = await s.craft('mallory', rekey);
    await rejectsWith(s.accept(s.views.alice, 'alice', forged), 'BAD_SIGNATURE');
    // A joiner served that statement as the latest refuses to build on it.
    await rejectsWith(
      createJoinEpoch({
        me: s.keys.dave,
        latest: forged.statement,
        request: await makeJoinRequest({ groupId: GROUP, me: s.keys.dave, now: at(31) }),
        memberBundles: s.bundleMap('alice', 'bob', 'carol'),
        now: at(31),
      }),
      'BAD_SIGNATURE',
    );
    const misChained = await s.craft('bob', { ...rekey, previousHash: randomBytes(32) });
    await rejectsWith(s.accept(s.views.alice, 'alice', misChained), 'EPOCH_FORK');
    const skipped = await s.craft('bob', { ...rekey, epoch: 5 });
    await rejectsWith(s.accept(s.views.alice, 'alice', skipped), 'BAD_EPOCH');
    // Two different epochs 3: the one I hold wins.
    const twin = await s.craft('carol', {
      ...s.epoch3.statement,
      createdAt: s.epoch3.statement.createdAt + 1,
    });
    await rejectsWith(s.accept(s.views.alice, 'alice', twin), 'EPOCH_FORK');
  });

  it('a wrong member list and an artefact-less addition (MEMBERS_MISMATCH, BAD_ARTEFACT_SIGNATURE)', async () => {
    const b = await base();
    const dave = (
      await createJoinEpoch({
        me: s.keys.dave,
        latest: s.epoch3.statement,
        request: await makeJoinRequest({ groupId: GROUP, me: s.keys.dave, now: at(30) }),
        memberBundles: s.bundleMap('alice', 'bob', 'carol'),
        now: at(30),
      })
    ).statement;
    const withoutArtefact = await s.craft('bob', { ...b, members: dave.members });
    await rejectsWith(s.accept(s.views.alice, 'alice', withoutArtefact), 'MEMBERS_MISMATCH');
    const dropsCarol = await s.craft('bob', {
      ...b,
      members: b.members.filter((m) => m.userId !== 'carol'),
    });
    await rejectsWith(s.accept(s.views.alice, 'alice', dropsCarol), 'MEMBERS_MISMATCH');
    const forgedRequest = {
      ...dave.additions[0]!,
      signature: (await makeJoinRequest({ groupId: GROUP, me: s.keys.bob, now: at(30) })).signature,
    };
    const bobAddsDave = await s.craft('bob', {
      ...b,
      members: dave.members,
      additions: [forgedRequest],
    });
    await rejectsWith(s.accept(s.views.alice, 'alice', bobAddsDave), 'BAD_ARTEFACT_SIGNATURE');
  });

  it('an epoch from the future is retryable, and accepted once the clock caught up', async () => {
    const early = await createRekeyEpoch({
      view: s.views.bob,
      me: s.keys.bob,
      memberBundles: s.bundleMap('alice', 'carol'),
      now: at(60),
    });
    const now = at(60) - CLOCK_SLACK_MS - MINUTE;
    const error = await refusal(s.accept(s.views.alice, 'alice', early, { now }));
    expect(error.code).toBe('FROM_THE_FUTURE');
    expect(error.retryable).toBe(true);
    expect(await codeOf(s.accept(s.views.alice, 'alice', early, { now: at(60) }))).toBe('accepted');
  });

  it('a false bundle: a joiner refuses to seal to keys the chain does not name; members refuse a statement naming other keys than their pins, or than mine, and say whose', async () => {
    // The server hands dave mallory's keys as "bob".
    const fakeBob = await verifyBundle(publicBundle({ ...s.keys.mallory, userId: 'bob' }));
    const request = await makeJoinRequest({ groupId: GROUP, me: s.keys.dave, now: at(30) });
    const refused = await refusal(
      createJoinEpoch({
        me: s.keys.dave,
        latest: s.epoch3.statement,
        request,
        memberBundles: new Map([...s.bundleMap('alice', 'carol'), ['bob', fakeBob]]),
        now: at(30),
      }),
    );
    expect(refused).toBeInstanceOf(FingerprintMismatchError);
    expect((refused as FingerprintMismatchError).member).toBe('bob');
    // A maker that skipped that check: the fingerprint it wrote for bob is mallory's.
    const honest = await createJoinEpoch({
      me: s.keys.dave,
      latest: s.epoch3.statement,
      request,
      memberBundles: s.bundleMap('alice', 'bob', 'carol'),
      now: at(30),
    });
    const falseFingerprint = await identityFingerprint(fakeBob);
    const members = honest.statement.members.map((m) =>
      m.userId === 'bob' ? { ...m, fingerprint: falseFingerprint } : m,
    );
    const lying = await s.craft('dave', { ...honest.statement, members });
    for (const [me, view] of [
      ['alice', s.views.alice],
      ['bob', s.views.bob],
    ] as const) {
      const error = await refusal(s.accept(view, me, lying));
      expect(error.code).toBe('FINGERPRINT_MISMATCH');
      expect((error as FingerprintMismatchError).member).toBe('bob');
    }
    // Carol has not pinned bob: the previous statement's fingerprint still catches it.
    const unpinned = await refusal(
      s.accept(s.views.carol, 'carol', lying, { pinned: () => undefined }),
    );
    expect((unpinned as FingerprintMismatchError).member).toBe('bob');
  });

  it('a key-share whose key is not the committed one (KEY_COMMITMENT_MISMATCH): a maker cannot give members different keys', async () => {
    const b = { ...(await base()), kind: 'rekey' as const };
    const committed = randomBytes(32);
    const other = await s.craft(
      'bob',
      { ...b, keyCommitment: await keyCommitment(GROUP, 4, committed) },
      randomBytes(32),
    );
    await rejectsWith(s.accept(s.views.alice, 'alice', other), 'KEY_COMMITMENT_MISMATCH');
    const right = await s.craft('bob', b, committed);
    expect(await codeOf(s.accept(s.views.alice, 'alice', right))).toBe('accepted');
    // The maker's key-share for another epoch, or another statement, is refused too.
    const epoch5 = await s.craft('bob', { ...b, epoch: 5 }, committed);
    await rejectsWith(
      s.accept(s.views.alice, 'alice', right, { keyShare: shareFor(epoch5, 'alice') }),
      'BAD_EPOCH',
    );
    const twin = await s.craft('bob', { ...b, createdAt: b.createdAt + 1 }, committed);
    await rejectsWith(
      s.accept(s.views.alice, 'alice', right, { keyShare: shareFor(twin, 'alice') }),
      'EPOCH_FORK',
    );
  });

  it('a rejoiner whose keys changed: the pin decides, and a user who re-pins can accept', async () => {
    const newCarol = await generateLocalKeys('carol', T0);
    const newBundle = await verifyBundle(publicBundle(newCarol));
    const leave = await makeLeave({ groupId: GROUP, me: s.keys.carol, now: at(30) });
    const left = await createChangeEpoch({
      view: s.views.alice,
      me: s.keys.alice,
      removals: [leave],
      memberBundles: s.bundleMap('bob', 'carol'),
      now: at(30),
    });
    const back = await createJoinEpoch({
      me: newCarol,
      latest: left.statement,
      request: await makeJoinRequest({ groupId: GROUP, me: newCarol, now: at(31) }),
      memberBundles: s.bundleMap('alice', 'bob'),
      now: at(31),
    });
    const bob = await s.accept(s.views.bob, 'bob', left);
    const newKeys = new Map([...s.bundleMap('alice', 'bob'), ['carol', newBundle]]);
    const pinnedOld = await refusal(
      s.accept(bob.view, 'bob', back, { bundles: newKeys, authenticatedSenderId: 'carol' }),
    );
    expect((pinnedOld as FingerprintMismatchError).member).toBe('carol');
    const repinned = await s.accept(bob.view, 'bob', back, {
      bundles: newKeys,
      pinned: (id) => (id === 'carol' ? newBundle : s.bundles[id as 'alice']),
    });
    expect(repinned.change).toMatchObject({ added: ['carol'] });
  });
});
