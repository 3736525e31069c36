import { beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from '../../client/crypto/primitives';
import { concatBytes, lengthPrefixed, toBase64, utf8 } from '../../protocol/bytes';
import {
  type GroupArtefact,
  MAX_ARTEFACT_BASE64_CHARS,
  MAX_ARTEFACT_BYTES,
  artefactFromBase64,
  artefactSignatureValid,
  artefactToBase64,
  checkFreshArtefact,
  decodeArtefact,
  encodeArtefact,
  signArtefact,
} from '../../protocol/group-artefacts';
import {
  MAX_STATEMENT_BASE64_CHARS,
  MAX_STATEMENT_BYTES,
  adminIds,
  decodeStatement,
  encodeStatement,
  identityFingerprint,
  keyCommitment,
  memberIds,
  statementFromBase64,
  statementHash,
  statementToBase64,
} from '../../protocol/group-statement';
import { Statement } from '../../protocol/groups';
import { CLOCK_SLACK_MS } from '../../protocol/limits';
import { codeOf, rejectsWith } from '../support/crypto-errors';
import {
  type Signer,
  StatementBuilder,
  adminAddition,
  adminRemoval,
  joinRequest,
  leaveOf,
  makeSigners,
} from '../../tools/group-statements';

const T0 = Date.UTC(2025, 5, 1);
const MINUTE = 60_000;
const G = 'friends';

let users: Record<'alice' | 'bob' | 'carol' | 'dave', Signer>;
let build: StatementBuilder;

beforeAll(async () => {
  users = await makeSigners(['alice', 'bob', 'carol', 'dave'] as const);
  build = new StatementBuilder(Object.values(users));
});

describe('artefacts', () => {
  it('round-trips each kind through its wire form and verifies against the signer key only', async () => {
    const artefacts: GroupArtefact[] = [
      await joinRequest(users.bob, G, T0, randomBytes(32)),
      await leaveOf(users.bob, G, T0 + 1),
      await adminRemoval(users.alice, 'bob', G, T0 + 2),
      await adminAddition(users.alice, 'carol', G, T0 + 3),
    ];
    for (const artefact of artefacts) {
      const back = decodeArtefact(encodeArtefact(artefact));
      expect(back).toEqual(artefact);
      expect(artefactFromBase64(artefactToBase64(artefact))).toEqual(artefact);
      const signer =
        artefact.kind === 'join' || artefact.kind === 'leave' ? users.bob : users.alice;
      expect(await artefactSignatureValid(back, signer.sign.publicKey)).toBe(true);
      expect(await artefactSignatureValid(back, users.carol.sign.publicKey)).toBe(false);
      expect(
        await artefactSignatureValid({ ...back, time: back.time + 1 }, signer.sign.publicKey),
      ).toBe(false);
    }
  });

  it('binds the kind: an admin removal signature does not pass as an admin addition', async () => {
    const removal = await adminRemoval(users.alice, 'bob', G, T0);
    const relabelled = { ...removal, kind: 'admin-add' as const };
    expect(await artefactSignatureValid(relabelled, users.alice.sign.publicKey)).toBe(false);
    const leave = await leaveOf(users.bob, G, T0);
    const asJoin = { ...leave, kind: 'join' as const, knownHash: new Uint8Array(32) };
    expect(await artefactSignatureValid(asJoin, users.bob.sign.publicKey)).toBe(false);
  });

  it('refuses malformed bytes, and the size limit is the largest artefact', async () => {
    const join = encodeArtefact(await joinRequest(users.bob, G, T0));
    expect(
      await codeOf(
        Promise.resolve().then(() => decodeArtefact(concatBytes(join, new Uint8Array(1)))),
      ),
    ).toBe('MALFORMED');
    expect(await codeOf(Promise.resolve().then(() => decodeArtefact(join.subarray(0, 50))))).toBe(
      'MALFORMED',
    );
    const unknownKind = join.slice();
    unknownKind[0] = 9;
    expect(await codeOf(Promise.resolve().then(() => decodeArtefact(unknownKind)))).toBe(
      'MALFORMED',
    );
    const long = 'x'.repeat(256);
    const biggest = await signArtefact(
      { kind: 'admin-add', groupId: long, admin: long, target: long, time: T0 },
      users.alice.sign.privateKey,
    );
    expect(encodeArtefact(biggest)).toHaveLength(MAX_ARTEFACT_BYTES);
    expect(artefactToBase64(biggest)).toHaveLength(MAX_ARTEFACT_BASE64_CHARS);
    expect(
      await codeOf(
        Promise.resolve().then(() => artefactFromBase64(artefactToBase64(biggest) + 'AAAA')),
      ),
    ).toBe('TOO_LARGE');
  });

  it('checks a fresh standalone artefact as the server does before changing its roster', async () => {
    const keys = new Map(Object.values(users).map((s) => [s.id, s.sign.publicKey]));
    const context = { signingKeyOf: (id: string) => keys.get(id), now: T0 };
    const join = await joinRequest(users.dave, G, T0 - 60_000);
    await checkFreshArtefact(join, { groupId: G, kinds: ['join'] }, context);
    await rejectsWith(
      checkFreshArtefact(join, { groupId: 'other', kinds: ['join'] }, context),
      'BAD_ARTEFACT',
    );
    await rejectsWith(
      checkFreshArtefact(join, { groupId: G, kinds: ['leave'] }, context),
      'BAD_ARTEFACT',
    );
    const old = await joinRequest(users.dave, G, T0 - CLOCK_SLACK_MS - 1);
    await rejectsWith(
      checkFreshArtefact(old, { groupId: G, kinds: ['join'] }, context),
      'STALE_ARTEFACT',
    );
    const ahead = await leaveOf(users.dave, G, T0 + CLOCK_SLACK_MS + 1);
    await rejectsWith(
      checkFreshArtefact(ahead, { groupId: G, kinds: ['leave'] }, context),
      'FROM_THE_FUTURE',
    );
    const forged = { ...join, userId: 'carol' };
    await rejectsWith(
      checkFreshArtefact(forged, { groupId: G, kinds: ['join'] }, context),
      'BAD_ARTEFACT_SIGNATURE',
    );
    await rejectsWith(
      checkFreshArtefact({ ...join, userId: 'ghost' }, { groupId: G, kinds: ['join'] }, context),
      'UNKNOWN_SIGNER',
    );
  });
});

describe('statements', () => {
  it('round-trips every field, and the hash covers the signed bytes', async () => {
    const s1 = await build.create(users.alice, G, T0);
    const s2 = await build.next(s1, users.bob, {
      createdAt: T0 + MINUTE,
      additions: [await joinRequest(users.bob, G, T0, await statementHash(s1))],
    });
    const back = decodeStatement(encodeStatement(s2));
    expect(back).toEqual(s2);
    expect(statementFromBase64(statementToBase64(s2))).toEqual(s2);
    expect(memberIds(back)).toEqual(['alice', 'bob']);
    expect(adminIds(back)).toEqual(['alice']);
    expect(toBase64(await statementHash(back))).toBe(toBase64(await statementHash(s2)));
    const later = { ...s2, createdAt: s2.createdAt + 1 };
    expect(toBase64(await statementHash(later))).not.toBe(toBase64(await statementHash(s2)));
  });

  it('fits 256 members with the longest user ids and some artefacts in 24 KB of base64, which the wire schema takes', async () => {
    const groupId = 'g'.repeat(64);
    const id = (i: number) => `user-${String(i).padStart(3, '0')}-`.padEnd(32, 'x');
    const signers = Object.values(await makeSigners(Array.from({ length: 257 }, (_, i) => id(i))));
    const big = new StatementBuilder(signers);
    const [creator, ...rest] = signers;
    const first = await big.create(creator!, groupId, T0);
    const full = await big.next(first, creator!, {
      createdAt: T0,
      members: signers.slice(0, 256).map((s) => s.id),
      kind: 'change',
    });
    // Epoch 3 of a full group: one member leaves, one joins, and an admin removes a third.
    const next = await big.next(full, creator!, {
      createdAt: T0 + 1,
      removals: [
        await leaveOf(rest[0]!, groupId, T0),
        await adminRemoval(creator!, rest[1]!.id, groupId, T0),
      ],
      additions: [await joinRequest(signers[256]!, groupId, T0)],
    });
    expect(next.members).toHaveLength(255);
    const base64 = statementToBase64(next);
    expect(base64.length).toBeLessThanOrEqual(24 * 1024);
    expect(MAX_STATEMENT_BASE64_CHARS).toBe(24 * 1024);
    expect(Statement.safeParse(base64).success).toBe(true);
    expect(Statement.safeParse(base64 + 'A'.repeat(MAX_STATEMENT_BASE64_CHARS)).success).toBe(
      false,
    );
    // Room for at least 15 more such artefacts on top of 256 such members.
    const join = encodeArtefact(next.additions[0]!);
    const room = MAX_STATEMENT_BYTES - encodeStatement(full).length;
    expect(Math.floor(room / (4 + join.length))).toBeGreaterThanOrEqual(15);
  });

  it('refuses statements that are not canonical (unsorted or repeated members, bad flags, trailing bytes)', async () => {
    const s1 = await build.create(users.alice, G, T0);
    const s2 = await build.next(s1, users.alice, {
      createdAt: T0,
      members: ['alice', 'bob', 'carol'],
      kind: 'change',
    });
    const reversed = { ...s2, members: [...s2.members].reverse() };
    await rejectsWith(build.sign(users.alice, reversed), 'MALFORMED');
    const twice = { ...s2, members: [s2.members[0]!, s2.members[0]!] };
    await rejectsWith(build.sign(users.alice, twice), 'MALFORMED');
    const wire = encodeStatement(s2);
    await rejectsWith(
      Promise.resolve().then(() => decodeStatement(concatBytes(wire, new Uint8Array(1)))),
      'MALFORMED',
    );
    const v1 = wire.slice();
    v1[0] = 1;
    await rejectsWith(
      Promise.resolve().then(() => decodeStatement(v1)),
      'UNSUPPORTED_VERSION',
    );
    const leave = await leaveOf(users.bob, G, T0);
    await rejectsWith(
      build.sign(users.alice, { ...s2, additions: [leave as never] }),
      'BAD_ARTEFACT',
    );
    const otherGroup = await joinRequest(users.dave, 'enemies', T0);
    await rejectsWith(build.sign(users.alice, { ...s2, additions: [otherGroup] }), 'BAD_ARTEFACT');
  });

  it('derives fingerprints from both identity keys and commitments from group, epoch and key', async () => {
    const dh = randomBytes(32);
    const sign = randomBytes(32);
    const f = await identityFingerprint({ identityDh: dh, identitySign: sign });
    expect(f).toHaveLength(16);
    const swapped = await identityFingerprint({ identityDh: sign, identitySign: dh });
    expect(toBase64(f)).not.toBe(toBase64(swapped));
    const key = randomBytes(32);
    const c = await keyCommitment(G, 2, key);
    expect(toBase64(c)).not.toBe(toBase64(await keyCommitment(G, 3, key)));
    expect(toBase64(c)).not.toBe(toBase64(key));
    // The commitment is a plain domain-separated SHA-256 (reproducible by any implementation).
    const expected = new Uint8Array(
      await crypto.subtle.digest(
        'SHA-256',
        lengthPrefixed(
          utf8('cipherline/v2/group-key-commitment'),
          utf8(G),
          new Uint8Array([0, 0, 0, 2]),
          key,
        ),
      ),
    );
    expect(toBase64(c)).toBe(toBase64(expected));
  });
});
