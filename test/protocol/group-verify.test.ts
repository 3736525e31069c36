/**
 * verifyNextStatement and the server's roster rule, with public data only: every statement a
 * dishonest member or server could publish is refused with its own code, and the honest flows
 * (create, join, leave, admin removal and addition, admin and closed changes, rekey, concurrent
 * and silent joiners) pass.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from '../../client/crypto/primitives';
import type { AdditionArtefact, RemovalArtefact } from '../../protocol/group-artefacts';
import { decideRoster, type ServerRoster } from '../../protocol/group-roster';
import {
  type GroupStatement,
  adminIds,
  memberIds,
  statementHash,
} from '../../protocol/group-statement';
import { CLOCK_SLACK_MS } from '../../protocol/limits';
import {
  type StatementContext,
  memberHistory,
  verifyNextStatement,
} from '../../protocol/group-verify';
import { codeOf, refusal, rejectsWith } from '../support/crypto-errors';
import {
  type Signer,
  StatementBuilder,
  adminAddition,
  adminRemoval,
  contextOf,
  joinRequest,
  leaveOf,
  makeSigners,
} from '../../tools/group-statements';

const T0 = Date.UTC(2025, 5, 1);
const MINUTE = 60_000;
const G = 'friends';
const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'mallory'] as const;

let u: Record<(typeof NAMES)[number], Signer>;
let build: StatementBuilder;
let s1: GroupStatement;
let s2: GroupStatement;
let s3: GroupStatement;
/** The verifier's clock: a minute after the last statement it checks. */
const ctx = (now = T0 + 10 * MINUTE, extra: Partial<StatementContext> = {}) =>
  contextOf(Object.values(u), now, extra);

const verify = (previous: GroupStatement | undefined, next: GroupStatement, context = ctx()) =>
  verifyNextStatement(previous, next, context);

// alice creates (1, admin), bob joins (2), carol joins (3).
beforeAll(async () => {
  u = await makeSigners(NAMES);
  build = new StatementBuilder(Object.values(u));
  s1 = await build.create(u.alice, G, T0);
  s2 = await build.next(s1, u.bob, {
    createdAt: T0 + MINUTE,
    additions: [await joinRequest(u.bob, G, T0 + MINUTE, await statementHash(s1))],
  });
  s3 = await build.next(s2, u.carol, {
    createdAt: T0 + 2 * MINUTE,
    additions: [await joinRequest(u.carol, G, T0 + 2 * MINUTE, await statementHash(s2))],
  });
});

describe('honest epochs pass', () => {
  it('create, then joins by the joiners themselves', async () => {
    expect(await verify(undefined, s1)).toMatchObject({ added: ['alice'], adminsAdded: ['alice'] });
    expect(await verify(s1, s2)).toMatchObject({ added: ['bob'], removed: [] });
    const third = await verify(s2, s3);
    expect(third.added).toEqual(['carol']);
    expect(third.hash).toEqual(await statementHash(s3));
    expect(memberIds(s3)).toEqual(['alice', 'bob', 'carol']);
    expect(adminIds(s3)).toEqual(['alice']);
  });

  it('a leave, rotated out by a remaining member; an admin removal; a rekey', async () => {
    const left = await build.next(s3, u.bob, {
      createdAt: T0 + 3 * MINUTE,
      removals: [await leaveOf(u.carol, G, T0 + 3 * MINUTE)],
    });
    expect(await verify(s3, left)).toMatchObject({ removed: ['carol'], added: [] });
    const removed = await build.next(s3, u.alice, {
      createdAt: T0 + 3 * MINUTE,
      removals: [await adminRemoval(u.alice, 'bob', G, T0 + 3 * MINUTE)],
    });
    expect(await verify(s3, removed)).toMatchObject({ removed: ['bob'] });
    const rekey = await build.next(s3, u.carol, { createdAt: T0 + 3 * MINUTE, kind: 'rekey' });
    expect(await verify(s3, rekey)).toMatchObject({ added: [], removed: [], closedChanged: false });
  });

  it('an admin closes the group and names an admin; an admin adds a member to the closed group, and any member may carry that', async () => {
    const closed = await build.next(s3, u.alice, {
      createdAt: T0 + 3 * MINUTE,
      kind: 'change',
      closed: true,
      admins: ['alice', 'bob'],
    });
    expect(await verify(s3, closed)).toMatchObject({ closedChanged: true, adminsAdded: ['bob'] });
    const byAdmin = await adminAddition(u.bob, 'dave', G, T0 + 4 * MINUTE);
    const added = await build.next(closed, u.carol, {
      createdAt: T0 + 4 * MINUTE,
      additions: [byAdmin],
    });
    expect(await verify(closed, added)).toMatchObject({ added: ['dave'] });
    expect(added.closed).toBe(true);
  });

  it('when the last admin leaves, a remaining member may name itself (only itself) admin', async () => {
    const aliceLeaves = await leaveOf(u.alice, G, T0 + 3 * MINUTE);
    const selfNamed = await build.next(s3, u.bob, {
      createdAt: T0 + 3 * MINUTE,
      removals: [aliceLeaves],
      admins: ['bob'],
    });
    expect(await verify(s3, selfNamed)).toMatchObject({ adminsAdded: ['bob'], removed: ['alice'] });
    const noAdmin = await build.next(s3, u.bob, {
      createdAt: T0 + 3 * MINUTE,
      removals: [aliceLeaves],
    });
    expect(adminIds(noAdmin)).toEqual([]);
    await verify(s3, noAdmin);
    const both = await build.next(s3, u.bob, {
      createdAt: T0 + 3 * MINUTE,
      removals: [aliceLeaves],
      admins: ['bob', 'carol'],
    });
    await rejectsWith(verify(s3, both), 'NOT_AN_ADMIN');
    // While alice is an admin, bob cannot name himself.
    const usurper = await build.next(s3, u.bob, {
      createdAt: T0 + 3 * MINUTE,
      kind: 'change',
      admins: ['alice', 'bob'],
    });
    await rejectsWith(verify(s3, usurper), 'NOT_AN_ADMIN');
  });

  it('one joiner may carry another pending joiner (two concurrent joins in one epoch)', async () => {
    const dave = await joinRequest(u.dave, G, T0 + 3 * MINUTE);
    const erin = await joinRequest(u.erin, G, T0 + 3 * MINUTE);
    const both = await build.next(s3, u.erin, {
      createdAt: T0 + 3 * MINUTE,
      additions: [dave, erin],
    });
    expect(await verify(s3, both)).toMatchObject({ added: ['dave', 'erin'] });
  });
});

describe('the attacks of issue 9 point 1 are refused', () => {
  it('a forged statement: signed by someone else, or altered after signing (BAD_SIGNATURE); an unknown maker (UNKNOWN_SIGNER)', async () => {
    const honest = await build.next(s3, u.bob, { createdAt: T0 + 3 * MINUTE, kind: 'rekey' });
    const forged = await build.sign(u.mallory, { ...honest });
    await rejectsWith(verify(s3, forged), 'BAD_SIGNATURE');
    await rejectsWith(verify(s3, { ...honest, createdAt: honest.createdAt + 1 }), 'BAD_SIGNATURE');
    await rejectsWith(verify(s3, { ...honest, closed: true }), 'BAD_SIGNATURE');
    const byStranger = await build.sign(u.mallory, { ...honest, maker: 'nobody' });
    await rejectsWith(verify(s3, byStranger), 'UNKNOWN_SIGNER');
  });

  it('a mis-chained statement: wrong previous hash (EPOCH_FORK), skipped or repeated number, create after create (BAD_EPOCH), another group (WRONG_GROUP)', async () => {
    const draft = { createdAt: T0 + 3 * MINUTE, kind: 'rekey' as const };
    await rejectsWith(
      verify(s3, await build.next(s3, u.bob, { ...draft, previousHash: randomBytes(32) })),
      'EPOCH_FORK',
    );
    await rejectsWith(
      verify(s3, await build.next(s2, u.bob, { ...draft, epoch: 4 })),
      'EPOCH_FORK',
    );
    await rejectsWith(verify(s3, await build.next(s3, u.bob, { ...draft, epoch: 5 })), 'BAD_EPOCH');
    await rejectsWith(verify(s3, await build.next(s3, u.bob, { ...draft, epoch: 3 })), 'BAD_EPOCH');
    await rejectsWith(
      verify(s3, await build.next(s3, u.bob, { ...draft, kind: 'create' })),
      'BAD_EPOCH',
    );
    await rejectsWith(verify(undefined, s2), 'BAD_EPOCH');
    await rejectsWith(
      verify(s3, await build.next(s3, u.bob, { ...draft, groupId: 'enemies' })),
      'WRONG_GROUP',
    );
  });

  it('a wrong member list: someone added or dropped without an artefact, a member added twice, a non-member removed (MEMBERS_MISMATCH)', async () => {
    const at = T0 + 3 * MINUTE;
    const addsDave = await build.next(s3, u.bob, {
      createdAt: at,
      kind: 'change',
      members: ['alice', 'bob', 'carol', 'dave'],
    });
    await rejectsWith(verify(s3, addsDave), 'MEMBERS_MISMATCH');
    const dropsCarol = await build.next(s3, u.bob, {
      createdAt: at,
      kind: 'change',
      members: ['alice', 'bob'],
    });
    await rejectsWith(verify(s3, dropsCarol), 'MEMBERS_MISMATCH');
    const rejoin = await build.next(s3, u.bob, {
      createdAt: at,
      additions: [await joinRequest(u.carol, G, at)],
      members: ['alice', 'bob', 'carol'],
    });
    await rejectsWith(verify(s3, rejoin), 'MEMBERS_MISMATCH');
    const removesStranger = await build.next(s3, u.bob, {
      createdAt: at,
      removals: [await leaveOf(u.dave, G, at)],
      members: ['alice', 'bob', 'carol'],
    });
    await rejectsWith(verify(s3, removesStranger), 'MEMBERS_MISMATCH');
    const lies = await build.next(s3, u.bob, {
      createdAt: at,
      removals: [await leaveOf(u.carol, G, at)],
      members: ['alice', 'bob', 'carol'],
    });
    await rejectsWith(verify(s3, lies), 'MEMBERS_MISMATCH');
  });

  it('an addition whose artefact was not signed by the joiner (BAD_ARTEFACT_SIGNATURE), or by a signer without keys (UNKNOWN_SIGNER)', async () => {
    const at = T0 + 3 * MINUTE;
    const real = await joinRequest(u.dave, G, at);
    const madeByBob = { ...real, signature: (await joinRequest(u.bob, G, at)).signature };
    const forged = await build.next(s3, u.bob, { createdAt: at, additions: [madeByBob] });
    await rejectsWith(verify(s3, forged), 'BAD_ARTEFACT_SIGNATURE');
    const ghost = { ...real, userId: 'ghost' };
    const ghostAdded = await build.next(s3, u.bob, { createdAt: at, additions: [ghost] });
    await rejectsWith(verify(s3, ghostAdded), 'UNKNOWN_SIGNER');
    const fakeLeave = { ...(await leaveOf(u.bob, G, at)), userId: 'carol' };
    const dropsCarol = await build.next(s3, u.bob, { createdAt: at, removals: [fakeLeave] });
    await rejectsWith(verify(s3, dropsCarol), 'BAD_ARTEFACT_SIGNATURE');
  });

  it('a far-future statement or artefact is FROM_THE_FUTURE and retryable; within the slack it passes; time never goes back (TIME_REGRESSION)', async () => {
    const now = T0 + 10 * MINUTE;
    const ahead = await build.next(s3, u.bob, {
      createdAt: now + CLOCK_SLACK_MS + 1,
      kind: 'rekey',
    });
    const error = await refusal(verify(s3, ahead, ctx(now)));
    expect(error.code).toBe('FROM_THE_FUTURE');
    expect(error.retryable).toBe(true);
    expect(await codeOf(verify(s3, ahead, ctx(now + 1)))).toBe('accepted');
    const futureJoin = await build.next(s3, u.dave, {
      createdAt: now,
      additions: [await joinRequest(u.dave, G, now + 24 * 60 * MINUTE)],
    });
    await rejectsWith(verify(s3, futureJoin, ctx(now)), 'FROM_THE_FUTURE');
    const backwards = await build.next(s3, u.bob, {
      createdAt: s3.createdAt - 1,
      kind: 'rekey',
    });
    const regression = await refusal(verify(s3, backwards));
    expect(regression.code).toBe('TIME_REGRESSION');
    expect(regression.retryable).toBe(false);
  });

  it('a maker who is neither a member nor a joiner adding itself, or who leaves in its own epoch (NOT_A_MEMBER)', async () => {
    const at = T0 + 3 * MINUTE;
    const outsider = await build.next(s3, u.mallory, {
      createdAt: at,
      additions: [await joinRequest(u.dave, G, at)],
    });
    await rejectsWith(verify(s3, outsider), 'NOT_A_MEMBER');
    const leaver = await build.next(s3, u.carol, {
      createdAt: at,
      removals: [await leaveOf(u.carol, G, at)],
    });
    await rejectsWith(verify(s3, leaver), 'NOT_A_MEMBER');
  });

  it('joins into a closed group (GROUP_CLOSED); admin artefacts or flag changes by non-admins (NOT_AN_ADMIN)', async () => {
    const at = T0 + 3 * MINUTE;
    const closed = await build.next(s3, u.alice, { createdAt: at, kind: 'change', closed: true });
    const joins = await build.next(closed, u.dave, {
      createdAt: at,
      additions: [await joinRequest(u.dave, G, at)],
    });
    await rejectsWith(verify(closed, joins), 'GROUP_CLOSED');
    const bobAdds = await build.next(closed, u.bob, {
      createdAt: at,
      additions: [await adminAddition(u.bob, 'dave', G, at)],
    });
    await rejectsWith(verify(closed, bobAdds), 'NOT_AN_ADMIN');
    const bobRemoves = await build.next(s3, u.bob, {
      createdAt: at,
      removals: [await adminRemoval(u.bob, 'carol', G, at)],
    });
    await rejectsWith(verify(s3, bobRemoves), 'NOT_AN_ADMIN');
    const bobOpens = await build.next(closed, u.bob, {
      createdAt: at,
      kind: 'change',
      closed: false,
    });
    await rejectsWith(verify(closed, bobOpens), 'NOT_AN_ADMIN');
  });

  it('a rekey that changes members (NOT_A_REKEY), a change that changes nothing (NO_CHANGE), epoch 1 with others in it', async () => {
    const at = T0 + 3 * MINUTE;
    const sneaky = await build.next(s3, u.bob, {
      createdAt: at,
      kind: 'rekey',
      removals: [await leaveOf(u.carol, G, at)],
    });
    await rejectsWith(verify(s3, sneaky), 'NOT_A_REKEY');
    const empty = await build.next(s3, u.bob, { createdAt: at, kind: 'change' });
    await rejectsWith(verify(s3, empty), 'NO_CHANGE');
    const crowded = await build.sign(u.alice, {
      ...s1,
      members: [...s1.members, { ...s1.members[0]!, userId: 'bob', admin: false }],
    });
    await rejectsWith(verify(undefined, crowded), 'MEMBERS_MISMATCH');
  });

  it('a replayed artefact: an old join request after the user left, an old leave after the user rejoined (STALE_ARTEFACT)', async () => {
    const carolsJoin = s3.additions[0]!;
    const s4 = await build.next(s3, u.bob, {
      createdAt: T0 + 3 * MINUTE,
      removals: [await leaveOf(u.carol, G, T0 + 3 * MINUTE)],
    });
    const replayJoin = await build.next(s4, u.bob, {
      createdAt: T0 + 4 * MINUTE,
      additions: [carolsJoin],
    });
    await rejectsWith(verify(s4, replayJoin), 'STALE_ARTEFACT');
    // Further down the chain only the history the verifier holds knows about the departure.
    const s5 = await build.next(s4, u.bob, { createdAt: T0 + 4 * MINUTE, kind: 'rekey' });
    const later = await build.next(s5, u.bob, {
      createdAt: T0 + 5 * MINUTE,
      additions: [carolsJoin],
    });
    const history = memberHistory([s1, s2, s3, s4]);
    await rejectsWith(verify(s5, later, ctx(T0 + 10 * MINUTE, { history })), 'STALE_ARTEFACT');
    expect(await codeOf(verify(s5, later))).toBe('accepted');
    // Carol rejoins for real; her old leave cannot drop her again.
    const back = await build.next(s4, u.carol, {
      createdAt: T0 + 5 * MINUTE,
      additions: [await joinRequest(u.carol, G, T0 + 5 * MINUTE)],
    });
    await verify(s4, back);
    const replayLeave = await build.next(back, u.bob, {
      createdAt: T0 + 6 * MINUTE,
      removals: [s4.removals[0]!],
    });
    await rejectsWith(verify(back, replayLeave), 'STALE_ARTEFACT');
  });
});

describe("the server's roster rule", () => {
  const member = (pending?: AdditionArtefact) => (pending ? { pending } : {});
  const established = { alice: undefined, bob: undefined, carol: undefined };
  const roster = (
    members: Record<string, AdditionArtefact | undefined>,
    departed: Record<string, RemovalArtefact> = {},
  ): ServerRoster => ({
    members: new Map(Object.entries(members).map(([id, a]) => [id, member(a)])),
    departed: new Map(Object.entries(departed)),
  });

  it('stores a statement built on an older roster when only additions came since; the newcomers stay pending', async () => {
    const daveJoin = await joinRequest(u.dave, G, T0 + 3 * MINUTE);
    const current = roster({ ...established, dave: daveJoin });
    const rekey = await build.next(s3, u.bob, { createdAt: T0 + 3 * MINUTE, kind: 'rekey' });
    expect(decideRoster(rekey, current)).toEqual({ outcome: 'accept', stillPending: ['dave'] });
  });

  it('two concurrent joiners: the first epoch is stored, the second joiner stays pending and its rebuilt epoch passes', async () => {
    const daveJoin = await joinRequest(u.dave, G, T0 + 3 * MINUTE, await statementHash(s3));
    const erinJoin = await joinRequest(u.erin, G, T0 + 3 * MINUTE, await statementHash(s3));
    const current = roster({
      ...established,
      dave: daveJoin,
      erin: erinJoin,
    });
    const daves = await build.next(s3, u.dave, {
      createdAt: T0 + 3 * MINUTE,
      additions: [daveJoin],
    });
    const erins = await build.next(s3, u.erin, {
      createdAt: T0 + 3 * MINUTE,
      additions: [erinJoin],
    });
    await verify(s3, daves);
    expect(decideRoster(daves, current)).toEqual({ outcome: 'accept', stillPending: ['erin'] });
    // Erin's epoch 4 no longer chains; rebuilt on dave's, it passes.
    await rejectsWith(verify(daves, { ...erins }), 'BAD_EPOCH');
    const rebuilt = await build.next(daves, u.erin, {
      createdAt: T0 + 4 * MINUTE,
      additions: [erinJoin],
    });
    await verify(daves, rebuilt);
    const after = roster({
      ...established,
      dave: undefined,
      erin: erinJoin,
    });
    expect(decideRoster(rebuilt, after)).toEqual({ outcome: 'accept', stillPending: [] });
  });

  it('a silent joiner does not block the next one: its join stays pending or is carried by the next maker', async () => {
    const silent = await joinRequest(u.dave, G, T0 + 3 * MINUTE);
    const erinJoin = await joinRequest(u.erin, G, T0 + 4 * MINUTE);
    const current = roster({
      ...established,
      dave: silent,
      erin: erinJoin,
    });
    const erinOnly = await build.next(s3, u.erin, {
      createdAt: T0 + 4 * MINUTE,
      additions: [erinJoin],
    });
    await verify(s3, erinOnly);
    expect(decideRoster(erinOnly, current)).toEqual({ outcome: 'accept', stillPending: ['dave'] });
    const carriesDave = await build.next(s3, u.erin, {
      createdAt: T0 + 4 * MINUTE,
      additions: [erinJoin, silent],
    });
    await verify(s3, carriesDave);
    expect(decideRoster(carriesDave, current)).toEqual({ outcome: 'accept', stillPending: [] });
  });

  it('a conflict when someone the statement keeps has left since, or a member is dropped without an artefact', async () => {
    const carolLeft = await leaveOf(u.carol, G, T0 + 3 * MINUTE);
    const rekey = await build.next(s3, u.bob, { createdAt: T0 + 3 * MINUTE, kind: 'rekey' });
    expect(
      decideRoster(rekey, roster({ alice: undefined, bob: undefined }, { carol: carolLeft })),
    ).toEqual({
      outcome: 'conflict',
      leftSince: ['carol'],
      droppedWithoutArtefact: [],
    });
    // A roster member the statement neither keeps nor removes (the server knows her from an
    // epoch the maker did not build on).
    expect(decideRoster(rekey, roster({ ...established, erin: undefined }))).toEqual({
      outcome: 'conflict',
      leftSince: [],
      droppedWithoutArtefact: ['erin'],
    });
    // Carol's removal with her artefact is fine, though the server has not recorded it yet.
    const rotated = await build.next(s3, u.bob, {
      createdAt: T0 + 3 * MINUTE,
      removals: [carolLeft],
    });
    expect(
      decideRoster(rotated, roster({ alice: undefined, bob: undefined, carol: undefined })),
    ).toEqual({
      outcome: 'accept',
      stillPending: [],
    });
  });

  it('a leave/join toggle while others rotate: the rotation is stored, the rejoin stays pending, the old leave cannot be replayed', async () => {
    // Carol leaves (L1) and rejoins (J2) while bob rotates her out with L1.
    const l1 = await leaveOf(u.carol, G, T0 + 3 * MINUTE);
    const bobs = await build.next(s3, u.bob, { createdAt: T0 + 3 * MINUTE, removals: [l1] });
    await verify(s3, bobs);
    const j2 = await joinRequest(u.carol, G, T0 + 4 * MINUTE);
    // The server saw L1 then J2: carol is a member again, pending.
    const current = roster({ alice: undefined, bob: undefined, carol: j2 });
    expect(decideRoster(bobs, current)).toEqual({ outcome: 'accept', stillPending: ['carol'] });
    const back = await build.next(bobs, u.carol, { createdAt: T0 + 4 * MINUTE, additions: [j2] });
    await verify(bobs, back);
    await rejectsWith(
      verify(back, await build.next(back, u.bob, { createdAt: T0 + 5 * MINUTE, removals: [l1] })),
      'STALE_ARTEFACT',
    );
  });
});
