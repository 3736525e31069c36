import { beforeAll, describe, expect, it } from 'vitest';
import { sealWithKeys } from '../../client/crypto/envelope';
import { type GroupBody } from '../../client/crypto/envelope-payloads';
import { CryptoError, type CryptoErrorCode } from '../../protocol/crypto-error';
import {
  type AcceptEpochInput,
  type GroupView,
  type NewEpoch,
  acceptEpoch,
  createGroup,
  createJoinEpoch,
  createRotationEpoch,
  currentEpoch,
  departedMembers,
  pruneGroupView,
} from '../../client/crypto/group';
import {
  type OpenGroupInput,
  deriveGroupMessageKeys,
  openGroup,
  sealGroup,
} from '../../client/crypto/group-message';
import {
  type EpochStatement,
  type UnsignedStatement,
  decodeStatement,
  encodeStatement,
  signStatement,
  sortMembers,
  statementHash,
} from '../../client/crypto/group-statement';
import {
  INBOX_RETENTION_MS,
  type LocalKeys,
  type VerifiedBundle,
  generateLocalKeys,
  publicBundle,
  verifyBundle,
} from '../../client/crypto/keys';
import { sealDirect } from '../../client/crypto/envelope';
import { randomBytes } from '../../client/crypto/primitives';
import { MemorySeenStore } from '../../client/crypto/seen-store';
import { bytesEqual, toBase64, utf8 } from '../../protocol/bytes';

const T0 = Date.UTC(2025, 2, 1);
const MINUTE = 60_000;
const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'mallory'] as const;
type Name = (typeof NAMES)[number];

const keys = {} as Record<Name, LocalKeys>;
const bundles = {} as Record<Name, VerifiedBundle>;
const bundleMap = (...names: Name[]): Map<string, VerifiedBundle> =>
  new Map(names.map((n) => [n, bundles[n]]));

async function codeOf(promise: Promise<unknown>): Promise<CryptoErrorCode | 'accepted'> {
  try {
    await promise;
    return 'accepted';
  } catch (error) {
    if (!(error instanceof CryptoError)) throw error;
    return error.code;
  }
}

async function rejectsWith(promise: Promise<unknown>, code: CryptoErrorCode): Promise<void> {
  expect(await codeOf(promise)).toBe(code);
}

function shareFor(epoch: NewEpoch, member: string): Uint8Array {
  const share = epoch.keyShares.find((s) => s.recipientId === member);
  if (!share) throw new Error(`no key-share for ${member}`);
  return share.envelope;
}

/** What a member does with a pushed epoch. */
function accept(
  view: GroupView,
  me: Name,
  epoch: NewEpoch,
  overrides: Partial<AcceptEpochInput> = {},
) {
  return acceptEpoch({
    view,
    statement: epoch.statement,
    actor: bundles[epoch.statement.actor as Name],
    keyShare: overrides.keyShare ?? shareFor(epoch, me),
    authenticatedSenderId: epoch.statement.actor,
    me: keys[me],
    seen: new MemorySeenStore(),
    now: epoch.statement.createdAt + MINUTE,
    ...overrides,
  });
}

/** An epoch made by hand (what a dishonest client could publish): any statement, signed by
 * `signer`, with key-shares sealed by `signer` to every listed member that has keys. */
async function craftEpoch(signer: Name, unsigned: UnsignedStatement): Promise<NewEpoch> {
  const statement = await signStatement(unsigned, keys[signer].identitySign.privateKey);
  const hash = await statementHash(statement);
  const groupKey = randomBytes(32);
  const keyShares = await Promise.all(
    statement.members.map(async (member) => {
      const messageId = crypto.randomUUID();
      const envelope = await sealDirect({
        sender: keys[signer],
        recipient: bundles[member as Name],
        messageId,
        timestamp: statement.createdAt,
        body: {
          type: 'key-share',
          keyShare: {
            groupId: statement.groupId,
            epoch: statement.epoch,
            statementHash: hash,
            groupKey,
          },
        },
      });
      return { recipientId: member, messageId, envelope };
    }),
  );
  const epoch = { ...statement, statementHash: hash, groupKey };
  return { statement, keyShares, epoch, view: { groupId: statement.groupId, epochs: [epoch] } };
}

const sendText = (
  sender: Name,
  view: GroupView,
  text: string,
  at: number,
  messageId: string = crypto.randomUUID(),
) =>
  sealGroup({
    sender: keys[sender],
    view,
    messageId,
    timestamp: at,
    body: { type: 'group-text', text },
  });

const openInput = (
  envelope: Uint8Array,
  view: GroupView,
  from: Name,
  now: number,
  overrides: Partial<OpenGroupInput> = {},
): OpenGroupInput => ({
  envelope,
  view,
  sender: bundles[from],
  authenticatedSenderId: from,
  expectedType: ['group-text', 'group-file'],
  seen: new MemorySeenStore(),
  now,
  ...overrides,
});

// The story: alice creates "friends" (epoch 1), bob joins (2), carol joins (3).
let epoch1: NewEpoch;
let epoch2: NewEpoch;
let epoch3: NewEpoch;
const views = {} as Record<'alice' | 'bob' | 'carol', GroupView>;

beforeAll(async () => {
  for (const name of NAMES) {
    keys[name] = await generateLocalKeys(name, T0);
    bundles[name] = await verifyBundle(publicBundle(keys[name]));
  }
  epoch1 = await createGroup({ groupId: 'friends', me: keys.alice, now: T0 });
  epoch2 = await createJoinEpoch({
    me: keys.bob,
    latest: decodeStatement(encodeStatement(epoch1.statement)), // as the server would serve it
    latestActor: bundles.alice,
    memberBundles: bundleMap('alice'),
    now: T0 + 10 * MINUTE,
  });
  views.alice = (await accept(epoch1.view, 'alice', epoch2)).view;
  views.bob = epoch2.view;
  epoch3 = await createJoinEpoch({
    me: keys.carol,
    latest: epoch2.statement,
    latestActor: bundles.bob,
    memberBundles: bundleMap('alice', 'bob'),
    now: T0 + 20 * MINUTE,
  });
  views.alice = (await accept(views.alice, 'alice', epoch3)).view;
  views.bob = (await accept(views.bob, 'bob', epoch3)).view;
  views.carol = epoch3.view;
});

describe('epochs', () => {
  it('creates epoch 1 for the creator alone, with a key-share to itself', () => {
    expect(epoch1.statement).toMatchObject({
      groupId: 'friends',
      epoch: 1,
      kind: 'create',
      actor: 'alice',
      members: ['alice'],
    });
    expect(epoch1.keyShares.map((s) => s.recipientId)).toEqual(['alice']);
    expect(epoch1.epoch.groupKey).toHaveLength(32);
  });

  it('gives every member the same new key when someone joins, and never an old key to the joiner', async () => {
    expect(epoch3.statement).toMatchObject({
      epoch: 3,
      kind: 'join',
      actor: 'carol',
      members: ['alice', 'bob', 'carol'],
    });
    expect(epoch3.keyShares.map((s) => s.recipientId)).toEqual(['alice', 'bob', 'carol']);
    const key3 = toBase64(epoch3.epoch.groupKey);
    expect(toBase64(currentEpoch(views.alice).groupKey)).toBe(key3);
    expect(toBase64(currentEpoch(views.bob).groupKey)).toBe(key3);
    expect(views.carol.epochs.map((e) => e.epoch)).toEqual([3]);
    expect(views.alice.epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    const keys123 = new Set(views.alice.epochs.map((e) => toBase64(e.groupKey)));
    expect(keys123.size).toBe(3);
    expect(epoch2.keyShares.map((s) => s.recipientId)).not.toContain('carol');
  });

  it('reports what changed, and accepts a redelivered epoch as unchanged', async () => {
    const again = await accept(views.alice, 'alice', epoch3);
    expect(again.change).toEqual({ kind: 'unchanged' });
    expect(again.view).toBe(views.alice);
    const first = await accept(epoch1.view, 'alice', epoch2);
    expect(first.change).toEqual({ kind: 'join', member: 'bob' });
  });

  it('round-trips a statement through its wire form, and refuses an altered one (BAD_SIGNATURE)', async () => {
    const decoded = decodeStatement(encodeStatement(epoch3.statement));
    expect(decoded).toEqual(epoch3.statement);
    const later: EpochStatement = {
      ...epoch3.statement,
      createdAt: epoch3.statement.createdAt + 1,
    };
    await rejectsWith(accept(views.bob, 'bob', { ...epoch3, statement: later }), 'BAD_SIGNATURE');
  });

  it("refuses a non-member's epoch and key-share", async () => {
    const next = currentEpoch(views.alice);
    const base: UnsignedStatement = {
      groupId: 'friends',
      epoch: 4,
      kind: 'rotate',
      actor: 'mallory',
      members: ['alice', 'bob', 'carol', 'mallory'],
      previousHash: next.statementHash,
      createdAt: T0 + 30 * MINUTE,
    };
    // Mallory was not in epoch 3, so she cannot rotate it.
    await rejectsWith(
      accept(views.alice, 'alice', await craftEpoch('mallory', base)),
      'NOT_A_MEMBER',
    );
    // Nor sign an epoch she is not in.
    const outside = await craftEpoch('mallory', { ...base, members: ['alice', 'bob'] });
    await rejectsWith(accept(views.alice, 'alice', outside), 'NOT_A_MEMBER');
    // A genuine epoch (dave joins) with mallory's key-share instead of dave's.
    const daveJoins = await createJoinEpoch({
      me: keys.dave,
      latest: epoch3.statement,
      latestActor: bundles.carol,
      memberBundles: bundleMap('alice', 'bob', 'carol'),
      now: T0 + 30 * MINUTE,
    });
    const mallorysShare = (
      await craftEpoch('mallory', { ...daveJoins.statement, actor: 'mallory', kind: 'rotate' })
    ).keyShares[0]!.envelope;
    await rejectsWith(
      accept(views.alice, 'alice', daveJoins, {
        keyShare: mallorysShare,
        authenticatedSenderId: 'mallory',
      }),
      'WRONG_SENDER',
    );
    // A statement signed by someone else than its actor.
    await rejectsWith(
      accept(views.alice, 'alice', daveJoins, { actor: bundles.mallory }),
      'WRONG_SENDER',
    );
    // The genuine one is fine.
    expect((await accept(views.alice, 'alice', daveJoins)).change).toEqual({
      kind: 'join',
      member: 'dave',
    });
  });

  it('refuses a member list other than my view plus the joiner (MEMBERS_MISMATCH)', async () => {
    const current = currentEpoch(views.alice);
    // Dave "joins" but quietly drops bob.
    const sneaky = await craftEpoch('dave', {
      groupId: 'friends',
      epoch: 4,
      kind: 'join',
      actor: 'dave',
      members: ['alice', 'carol', 'dave'],
      previousHash: current.statementHash,
      createdAt: T0 + 30 * MINUTE,
    });
    await rejectsWith(accept(views.alice, 'alice', sneaky), 'MEMBERS_MISMATCH');
    // A rotation that adds someone is not a rotation.
    const adds = await craftEpoch('bob', {
      ...sneaky.statement,
      kind: 'rotate',
      actor: 'bob',
      members: ['alice', 'bob', 'dave'],
    });
    await rejectsWith(accept(views.alice, 'alice', adds), 'MEMBERS_MISMATCH');
  });

  it('detects a forked epoch (EPOCH_FORK): two different epochs 4, or an epoch 5 on the other branch', async () => {
    const joinAs = (name: Name, now: number) =>
      createJoinEpoch({
        me: keys[name],
        latest: epoch3.statement,
        latestActor: bundles.carol,
        memberBundles: bundleMap('alice', 'bob', 'carol'),
        now,
      });
    const daveBranch = await joinAs('dave', T0 + 30 * MINUTE);
    const erinBranch = await joinAs('erin', T0 + 31 * MINUTE);
    const withDave = (await accept(views.alice, 'alice', daveBranch)).view;
    await rejectsWith(accept(withDave, 'alice', erinBranch), 'EPOCH_FORK');
    // Epoch 5 that builds on erin's epoch 4.
    const onErin = await craftEpoch('mallory', {
      groupId: 'friends',
      epoch: 5,
      kind: 'join',
      actor: 'mallory',
      members: sortMembers([...erinBranch.statement.members, 'mallory']),
      previousHash: await statementHash(erinBranch.statement),
      createdAt: T0 + 32 * MINUTE,
    });
    await rejectsWith(accept(withDave, 'alice', onErin), 'EPOCH_FORK');
    // A key-share of one epoch-4 statement presented with another epoch-4 statement by the same actor.
    const twin = await craftEpoch('dave', {
      ...daveBranch.statement,
      createdAt: daveBranch.statement.createdAt + 1,
    });
    await rejectsWith(
      accept(views.alice, 'alice', daveBranch, { keyShare: shareFor(twin, 'alice') }),
      'EPOCH_FORK',
    );
  });

  it('refuses a skipped or stale epoch number (BAD_EPOCH)', async () => {
    const current = currentEpoch(views.alice);
    const unsigned: UnsignedStatement = {
      groupId: 'friends',
      epoch: 5,
      kind: 'join',
      actor: 'dave',
      members: ['alice', 'bob', 'carol', 'dave'],
      previousHash: current.statementHash,
      createdAt: T0 + 30 * MINUTE,
    };
    await rejectsWith(
      accept(views.alice, 'alice', await craftEpoch('dave', unsigned)),
      'BAD_EPOCH',
    );
    // Epoch 2 again, to a member that no longer holds it (pruned): stale.
    const pruned: GroupView = {
      groupId: 'friends',
      epochs: views.alice.epochs.filter((e) => e.epoch === 3),
    };
    await rejectsWith(accept(pruned, 'alice', epoch2), 'BAD_EPOCH');
    // A "create" can never follow.
    await rejectsWith(
      accept(
        views.alice,
        'alice',
        await craftEpoch('dave', { ...unsigned, epoch: 4, kind: 'create' }),
      ),
      'BAD_EPOCH',
    );
  });

  it('rotates after a leave: the leaver gets no key-share and cannot read what follows', async () => {
    expect(departedMembers(views.alice, ['alice', 'bob'])).toEqual(['carol']);
    const rotation = await createRotationEpoch({
      view: views.alice,
      me: keys.alice,
      remaining: ['alice', 'bob'],
      memberBundles: bundleMap('bob'),
      now: T0 + 40 * MINUTE,
    });
    expect(rotation.keyShares.map((s) => s.recipientId)).toEqual(['alice', 'bob']);
    const bobAccepts = await accept(views.bob, 'bob', rotation);
    expect(bobAccepts.change).toEqual({ kind: 'rotate', removed: ['carol'], by: 'alice' });
    const secret = await sendText('alice', rotation.view, 'after carol left', T0 + 41 * MINUTE);
    expect(
      (await openGroup(openInput(secret, bobAccepts.view, 'alice', T0 + 42 * MINUTE))).body,
    ).toEqual({ type: 'group-text', text: 'after carol left' });
    await rejectsWith(
      openGroup(openInput(secret, views.carol, 'alice', T0 + 42 * MINUTE)),
      'BAD_EPOCH',
    );
    // Carol cannot take the epoch either (she is not in it, and has no key-share).
    await rejectsWith(
      accept(views.carol, 'carol', rotation, { keyShare: shareFor(rotation, 'bob') }),
      'NOT_A_MEMBER',
    );
    // The leaver herself cannot rotate the others out.
    await rejectsWith(
      createRotationEpoch({
        view: bobAccepts.view,
        me: keys.carol,
        remaining: ['carol'],
        memberBundles: new Map(),
        now: T0,
      }),
      'NOT_A_MEMBER',
    );
    // A rotation that removes nobody is refused.
    await rejectsWith(
      createRotationEpoch({
        view: views.alice,
        me: keys.alice,
        remaining: ['alice', 'bob', 'carol'],
        memberBundles: bundleMap('bob', 'carol'),
        now: T0,
      }),
      'MEMBERS_MISMATCH',
    );
  });

  it('keeps old epochs while a message could still need them, then prunes them', () => {
    const soon = pruneGroupView(views.alice, T0 + INBOX_RETENTION_MS);
    expect(soon.epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    const later = pruneGroupView(
      views.alice,
      T0 + 20 * MINUTE + INBOX_RETENTION_MS + 2 * 24 * 60 * MINUTE,
    );
    expect(later.epochs.map((e) => e.epoch)).toEqual([3]);
  });
});

describe('group messages', () => {
  const at = T0 + 25 * MINUTE;

  it('round-trips group text and group file to every member', async () => {
    const bodies: GroupBody[] = [
      { type: 'group-text', text: 'hello friends 👋' },
      {
        type: 'group-file',
        file: {
          blobId: 'b1',
          fileKey: randomBytes(32),
          name: 'clip.mp4',
          mimeType: 'video/mp4',
          size: 123_456_789,
          digest: randomBytes(32),
        },
      },
    ];
    for (const body of bodies) {
      const envelope = await sealGroup({
        sender: keys.bob,
        view: views.bob,
        messageId: crypto.randomUUID(),
        timestamp: at,
        body,
      });
      for (const reader of ['alice', 'carol'] as const) {
        const opened = await openGroup(
          openInput(envelope, views[reader], 'bob', at + MINUTE, { expectedType: body.type }),
        );
        expect(opened.body).toEqual(body);
        expect(opened.header).toMatchObject({ groupId: 'friends', epoch: 3, senderId: 'bob' });
      }
    }
  });

  it('uses a new key for every message', async () => {
    const context = { type: 'group-text' as const, groupId: 'friends', epoch: 3, senderId: 'bob' };
    const k1 = await deriveGroupMessageKeys(currentEpoch(views.bob).groupKey, {
      ...context,
      messageId: 'm1',
    });
    const k2 = await deriveGroupMessageKeys(currentEpoch(views.bob).groupKey, {
      ...context,
      messageId: 'm2',
    });
    const k3 = await deriveGroupMessageKeys(currentEpoch(views.bob).groupKey, {
      ...context,
      messageId: 'm1',
      senderId: 'alice',
    });
    expect(bytesEqual(k1.encryptionKey, k2.encryptionKey)).toBe(false);
    expect(bytesEqual(k1.encryptionKey, k3.encryptionKey)).toBe(false);
    expect(bytesEqual(k1.macKey, k2.macKey)).toBe(false);
    const a = await sendText('bob', views.bob, 'same', at);
    const b = await sendText('bob', views.bob, 'same', at);
    expect(toBase64(a)).not.toBe(toBase64(b));
  });

  it('stops a member from writing as another member (BAD_SIGNATURE, WRONG_SENDER)', async () => {
    // Bob knows the group key, so he can derive alice's message keys and make a valid MAC.
    const epoch = currentEpoch(views.bob);
    const header = {
      type: 'group-text' as const,
      senderId: 'alice',
      groupId: 'friends',
      epoch: epoch.epoch,
      messageId: 'forged',
      timestamp: at,
    };
    const keysForAlice = await deriveGroupMessageKeys(epoch.groupKey, header);
    const forged = await sealWithKeys(
      header,
      keysForAlice,
      keys.bob.identitySign.privateKey,
      utf8('alice owes bob 100'),
    );
    // Relayed as from alice (say, by a hostile server): the signature is not alice's.
    await rejectsWith(openGroup(openInput(forged, views.carol, 'alice', at)), 'BAD_SIGNATURE');
    // Sent from bob's own connection: the header names someone else.
    await rejectsWith(openGroup(openInput(forged, views.carol, 'bob', at)), 'WRONG_SENDER');
  });

  it('lets no newcomer open a message from before it joined (BAD_EPOCH), even with its own key forced in', async () => {
    const aliceInEpoch2: GroupView = { groupId: 'friends', epochs: views.alice.epochs.slice(0, 2) };
    const before = await sendText('alice', aliceInEpoch2, 'before carol', T0 + 15 * MINUTE);
    await rejectsWith(openGroup(openInput(before, views.carol, 'alice', at)), 'BAD_EPOCH');
    const forcedKey: GroupView = {
      groupId: 'friends',
      epochs: [{ ...currentEpoch(views.carol), epoch: 2, members: ['alice', 'bob'] }],
    };
    await rejectsWith(openGroup(openInput(before, forcedKey, 'alice', at)), 'BAD_MAC');
    // Bob, a member since epoch 2, reads it.
    expect((await openGroup(openInput(before, views.bob, 'alice', at))).body).toEqual({
      type: 'group-text',
      text: 'before carol',
    });
  });

  it("refuses a sender who was not in the message's epoch (NOT_A_MEMBER), and a non-member cannot seal", async () => {
    // Carol (joined in epoch 3) claims a message in epoch 2, using a key she made up.
    const fakeView: GroupView = {
      groupId: 'friends',
      epochs: [{ ...currentEpoch(views.carol), epoch: 2, members: ['alice', 'bob', 'carol'] }],
    };
    const claim = await sendText('carol', fakeView, 'I was there', T0 + 15 * MINUTE);
    await rejectsWith(openGroup(openInput(claim, views.bob, 'carol', at)), 'NOT_A_MEMBER');
    await rejectsWith(sendText('mallory', views.alice, 'let me in', at), 'NOT_A_MEMBER');
  });

  it('refuses 1:1 envelopes here and group messages as 1:1 (WRONG_TYPE), other groups (WRONG_RECIPIENT), replays and old messages', async () => {
    const direct = await sealDirect({
      sender: keys.alice,
      recipient: bundles.bob,
      messageId: 'd1',
      timestamp: at,
      body: { type: 'text', text: 'hi' },
    });
    await rejectsWith(openGroup(openInput(direct, views.bob, 'alice', at)), 'WRONG_TYPE');
    const envelope = await sendText('alice', views.alice, 'once', at, 'g1');
    await rejectsWith(
      openGroup(openInput(envelope, views.bob, 'alice', at, { expectedType: 'group-file' })),
      'WRONG_TYPE',
    );
    await rejectsWith(
      openGroup(openInput(envelope, { ...views.bob, groupId: 'enemies' }, 'alice', at)),
      'WRONG_RECIPIENT',
    );
    const seen = new MemorySeenStore();
    await openGroup(openInput(envelope, views.bob, 'alice', at, { seen }));
    await rejectsWith(openGroup(openInput(envelope, views.bob, 'alice', at, { seen })), 'REPLAY');
    await rejectsWith(
      openGroup(openInput(envelope, views.bob, 'alice', at + INBOX_RETENTION_MS + 1)),
      'TOO_OLD',
    );
    const flipped = envelope.slice();
    flipped[flipped.length - 70]! ^= 4; // inside the MAC
    await rejectsWith(openGroup(openInput(flipped, views.bob, 'alice', at)), 'BAD_MAC');
  });
});
