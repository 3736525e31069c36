/**
 * Group keys by epoch (DESIGN.md section 4, Groups). Every epoch has its own random 32-byte group
 * key, never known to the server, and a signed statement (protocol/group-statement.ts) saying who
 * is in it, with the artefact of every change, a fingerprint of each member's identity keys as
 * its maker saw them and a commitment to the key.
 *
 * Making epochs (this file): createGroup (epoch 1), createJoinEpoch (a joiner adds itself, and
 * may carry other pending joiners), createChangeEpoch (a member carries leaves, removals,
 * additions, admin and closed changes), createRekeyEpoch (a new key, nothing else). The maker
 * wraps the key for every member of the new epoch (1:1 'key-share' envelopes). Accepting them:
 * group-accept.ts. Artefacts: group-membership.ts.
 *
 * Members keep old epochs' keys (GroupView.epochs) so messages sent just before a change still
 * open; pruneGroupView drops keys no message in the inbox can need any more.
 */
import { type Bytes, bytesEqual } from '../../protocol/bytes';
import { CryptoError } from '../../protocol/crypto-error';
import {
  type AdditionArtefact,
  type JoinRequest,
  type RemovalArtefact,
  artefactSubject,
  sortBySubject,
} from '../../protocol/group-artefacts';
import {
  type GroupStatement,
  NO_PREVIOUS_STATEMENT,
  type StatementMember,
  type UnsignedStatement,
  adminIds,
  identityFingerprint,
  keyCommitment,
  memberIds,
  signStatement,
  statementHash,
  statementSignedBytes,
} from '../../protocol/group-statement';
import {
  type StatementContext,
  memberHistory,
  verifyNextStatement,
} from '../../protocol/group-verify';
import { ed25519Verify } from '../../protocol/signatures';
import { sealDirect, MAX_CLOCK_SKEW_MS } from './envelope';
import { GROUP_KEY_BYTES } from './envelope-payloads';
import { INBOX_RETENTION_MS, type LocalKeys, type VerifiedBundle, ownVerifiedBundle } from './keys';
import { randomBytes } from './primitives';

/** One epoch as a member holds it. */
export interface GroupEpoch {
  readonly groupId: string;
  readonly epoch: number;
  readonly statement: GroupStatement;
  readonly statementHash: Uint8Array;
  /** The statement's member ids, sorted. */
  readonly members: readonly string[];
  readonly createdAt: number;
  /** Secret: 32 random bytes. */
  readonly groupKey: Bytes;
}

/** A member's view of one group: the epochs it holds keys for, oldest first; the last is current. */
export interface GroupView {
  readonly groupId: string;
  readonly epochs: readonly GroupEpoch[];
}

export function currentEpoch(view: GroupView): GroupEpoch {
  const current = view.epochs[view.epochs.length - 1];
  if (!current) throw new CryptoError('BAD_EPOCH', `no epoch known for group ${view.groupId}`);
  return current;
}

export function findEpoch(view: GroupView, epoch: number): GroupEpoch | undefined {
  return view.epochs.find((e) => e.epoch === epoch);
}

/** The epoch after `epoch` in the view, if I hold it. */
export function successorOf(view: GroupView, epoch: number): GroupEpoch | undefined {
  return view.epochs.find((e) => e.epoch === epoch + 1);
}

/** Who joined and left when, by what this view still holds (for verifyNextStatement). */
export const historyOf = (view: GroupView) => memberHistory(view.epochs.map((e) => e.statement));

export function epochFrom(
  statement: GroupStatement,
  hash: Uint8Array,
  groupKey: Bytes,
): GroupEpoch {
  const { groupId, epoch, createdAt } = statement;
  const members = memberIds(statement);
  return { groupId, epoch, statement, statementHash: hash, members, createdAt, groupKey };
}

// ---------------------------------------------------------------- making epochs

/** One 1:1 key-share envelope to hand to the server for `recipientId`. */
export interface OutgoingKeyShare {
  readonly recipientId: string;
  readonly messageId: string;
  readonly envelope: Bytes;
}

/** A freshly made epoch: publish the statement and the key-shares, keep the view. */
export interface NewEpoch {
  readonly statement: GroupStatement;
  readonly keyShares: readonly OutgoingKeyShare[];
  readonly epoch: GroupEpoch;
  readonly view: GroupView;
}

/** Verified bundles by user id: every member of the new epoch but me (their key-shares are
 * sealed to these keys, and their fingerprints go into the statement), and the signers of the
 * artefacts it carries (a leaver, a removing admin). */
export type MemberBundles = ReadonlyMap<string, VerifiedBundle>;

interface EpochPlan {
  readonly previous?: GroupStatement;
  readonly history?: StatementContext['history'];
  readonly kind: UnsignedStatement['kind'];
  readonly members: readonly string[];
  readonly admins: readonly string[];
  readonly closed: boolean;
  readonly additions: readonly AdditionArtefact[];
  readonly removals: readonly RemovalArtefact[];
}

async function makeEpoch(
  groupId: string,
  plan: EpochPlan,
  me: LocalKeys,
  bundles: MemberBundles,
  now: number,
  previousEpochs: readonly GroupEpoch[],
): Promise<NewEpoch> {
  const mine = await ownVerifiedBundle(me);
  const bundleOf = (userId: string): VerifiedBundle => {
    const bundle = userId === me.userId ? mine : bundles.get(userId);
    if (!bundle) throw new CryptoError('BAD_INPUT', `no verified bundle for ${userId}`);
    return bundle;
  };
  if (plan.previous)
    await checkBundlesAgainst(plan.previous, plan.members.map(bundleOf), me.userId);
  const epochNumber = plan.previous ? plan.previous.epoch + 1 : 1;
  const groupKey = randomBytes(GROUP_KEY_BYTES);
  const members: StatementMember[] = await Promise.all(
    [...plan.members].sort().map(async (userId) => ({
      userId,
      admin: plan.admins.includes(userId),
      fingerprint: await identityFingerprint(bundleOf(userId)),
    })),
  );
  const statement = await signStatement(
    {
      groupId,
      epoch: epochNumber,
      kind: plan.kind,
      maker: me.userId,
      previousHash: plan.previous
        ? await hashOf(plan.previous, previousEpochs)
        : NO_PREVIOUS_STATEMENT,
      createdAt: now,
      closed: plan.closed,
      members,
      keyCommitment: await keyCommitment(groupId, epochNumber, groupKey),
      additions: sortBySubject(plan.additions),
      removals: sortBySubject(plan.removals),
    },
    me.identitySign.privateKey,
  );
  // The maker checks its own epoch as everyone else will, so a refusal shows up here.
  const signingKeyOf = (userId: string) =>
    userId === me.userId ? me.identitySign.publicKey : bundles.get(userId)?.identitySign;
  const { hash } = await verifyNextStatement(plan.previous, statement, {
    signingKeyOf,
    now,
    ...(plan.history && { history: plan.history }),
  });
  const keyShares: OutgoingKeyShare[] = [];
  for (const member of statement.members) {
    const messageId = globalThis.crypto.randomUUID();
    const envelope = await sealDirect({
      sender: me,
      recipient: bundleOf(member.userId),
      messageId,
      timestamp: now,
      body: {
        type: 'key-share',
        keyShare: { groupId, epoch: epochNumber, statementHash: hash, groupKey },
      },
    });
    keyShares.push({ recipientId: member.userId, messageId, envelope });
  }
  const epoch = epochFrom(statement, hash, groupKey);
  return { statement, keyShares, epoch, view: { groupId, epochs: [...previousEpochs, epoch] } };
}

async function hashOf(previous: GroupStatement, held: readonly GroupEpoch[]): Promise<Uint8Array> {
  return held.find((e) => e.statement === previous)?.statementHash ?? statementHash(previous);
}

/** FINGERPRINT_MISMATCH when a bundle I am about to seal to is not the identity the previous
 * statement names for that member: a key change or a false bundle; the UI warns, never seals. */
async function checkBundlesAgainst(
  previous: GroupStatement,
  bundles: readonly VerifiedBundle[],
  me: string,
): Promise<void> {
  for (const bundle of bundles) {
    const named = previous.members.find((m) => m.userId === bundle.userId);
    if (!named || bundle.userId === me) continue;
    if (!bytesEqual(named.fingerprint, await identityFingerprint(bundle)))
      throw new FingerprintMismatchError(bundle.userId, previous.epoch);
  }
}

/** A member's identity keys differ from what I pinned, or from what an earlier statement names:
 * `member` is who to warn about. Never accepted silently. */
export class FingerprintMismatchError extends CryptoError {
  override readonly name = 'FingerprintMismatchError';
  constructor(
    readonly member: string,
    epoch: number,
  ) {
    super(
      'FINGERPRINT_MISMATCH',
      `the identity keys of ${member} in epoch ${epoch} are not the ones known for ${member}: check the safety number`,
    );
  }
}

/** Epoch 1, made by the client the server answered `created: true`; I am its member and admin. */
export async function createGroup(input: {
  groupId: string;
  me: LocalKeys;
  now: number;
  closed?: boolean;
}): Promise<NewEpoch> {
  const { groupId, me, now } = input;
  const plan: EpochPlan = {
    kind: 'create',
    members: [me.userId],
    admins: [me.userId],
    closed: input.closed ?? false,
    additions: [],
    removals: [],
  };
  return makeEpoch(groupId, plan, me, new Map(), now, []);
}

export interface JoinInput {
  readonly me: LocalKeys;
  /** The group's latest statement, as the server serves it. */
  readonly latest: GroupStatement;
  /** My join request (the one the server holds for me). */
  readonly request: JoinRequest;
  /** Other joiners' pending requests this epoch carries too (optional). */
  readonly otherJoiners?: readonly JoinRequest[];
  /** Verified bundles of the latest epoch's members and of the other joiners. */
  readonly memberBundles: MemberBundles;
  readonly now: number;
}

/**
 * Joining: a new epoch = the latest epoch's members plus me, signed by me, with a new key for
 * everyone. A joiner checks the latest statement's signature and that the bundles it seals to
 * are the identities that statement names (FINGERPRINT_MISMATCH); it has no history to check the
 * chain against (trust on first use of the group); the members check everything in acceptEpoch.
 */
export async function createJoinEpoch(input: JoinInput): Promise<NewEpoch> {
  const { me, latest, request } = input;
  const makerKey =
    latest.maker === me.userId
      ? me.identitySign.publicKey
      : input.memberBundles.get(latest.maker)?.identitySign;
  if (!makerKey || !(await ed25519Verify(makerKey, latest.signature, statementSignedBytes(latest))))
    throw new CryptoError(
      'BAD_SIGNATURE',
      `epoch ${latest.epoch} is not signed by ${latest.maker}`,
    );
  const additions = [request, ...(input.otherJoiners ?? [])];
  const plan: EpochPlan = {
    previous: latest,
    kind: 'change',
    members: [...memberIds(latest), ...additions.map(artefactSubject)],
    admins: adminIds(latest),
    closed: latest.closed,
    additions,
    removals: [],
  };
  return makeEpoch(latest.groupId, plan, me, input.memberBundles, input.now, []);
}

export interface ChangeInput {
  readonly view: GroupView;
  readonly me: LocalKeys;
  /** Join requests or admin additions (e.g. the server roster's pending ones). */
  readonly additions?: readonly AdditionArtefact[];
  /** Leaves or admin removals. */
  readonly removals?: readonly RemovalArtefact[];
  /** The new admins; default: the current admins who stay. Only an admin changes this (or a
   * member naming itself when no admin remains). */
  readonly admins?: readonly string[];
  /** Close or open the group to joins (admins only). */
  readonly closed?: boolean;
  readonly memberBundles: MemberBundles;
  readonly now: number;
}

/** A member's new epoch carrying membership, admin or closed changes (leave rotation, admin
 * removal or addition, admin and closed changes). */
export async function createChangeEpoch(input: ChangeInput): Promise<NewEpoch> {
  return nextEpoch(input, 'change');
}

/** A new key and nothing else (a device that lost the key, or a periodic refresh). */
export async function createRekeyEpoch(
  input: Pick<ChangeInput, 'view' | 'me' | 'memberBundles' | 'now'>,
): Promise<NewEpoch> {
  return nextEpoch(input, 'rekey');
}

async function nextEpoch(input: ChangeInput, kind: 'change' | 'rekey'): Promise<NewEpoch> {
  const { view, me } = input;
  const current = currentEpoch(view);
  const additions = input.additions ?? [];
  const removals = input.removals ?? [];
  const removed = new Set(removals.map(artefactSubject));
  const members = [
    ...current.members.filter((id) => !removed.has(id)),
    ...additions.map(artefactSubject),
  ];
  const plan: EpochPlan = {
    previous: current.statement,
    history: historyOf(view),
    kind,
    members,
    admins: input.admins ?? adminIds(current.statement).filter((id) => members.includes(id)),
    closed: input.closed ?? current.statement.closed,
    additions,
    removals,
  };
  return makeEpoch(view.groupId, plan, me, input.memberBundles, input.now, view.epochs);
}

/**
 * Drops epochs whose successor is older than the inbox retention (plus clock skew): every message
 * sealed under them is either opened already or refused as TOO_OLD. The current epoch stays.
 */
export function pruneGroupView(view: GroupView, now: number): GroupView {
  const cutoff = now - INBOX_RETENTION_MS - MAX_CLOCK_SKEW_MS;
  const epochs = view.epochs.filter((epoch, i) => {
    const successor = view.epochs[i + 1];
    return successor === undefined || successor.createdAt >= cutoff;
  });
  return { groupId: view.groupId, epochs };
}
