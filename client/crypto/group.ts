/**
 * Group keys by epoch (DESIGN.md section 4, Groups). Every epoch has its own random 32-byte group
 * key, never known to the server, and a signed statement (group-statement.ts) saying who is in it.
 *
 * - createGroup: the creator makes epoch 1 (members = [creator]) and wraps the key for itself.
 * - createJoinEpoch: a joiner makes epoch n+1 = epoch n's members plus itself, with a new key
 *   wrapped for every member (1:1 'key-share' envelopes). It never receives an older key, so it
 *   cannot read what was said before it joined; no other member has to be online.
 * - createRotationEpoch: after a leave, a remaining member makes epoch n+1 without the leavers.
 * - acceptEpoch: what every other member checks before using a new epoch.
 *
 * Members keep old epochs' keys (GroupView.epochs) so messages sent just before a change still
 * open; pruneGroupView drops keys no message in the inbox can need any more.
 */
import { sealDirect, openDirect, MAX_CLOCK_SKEW_MS } from './envelope';
import { GROUP_KEY_BYTES } from './envelope-payloads';
import { CryptoError } from '../../protocol/crypto-error';
import {
  type EpochKind,
  type EpochStatement,
  NO_PREVIOUS_EPOCH,
  type UnsignedStatement,
  sameMembers,
  signStatement,
  sortMembers,
  statementHash,
  verifyStatement,
} from './group-statement';
import { INBOX_RETENTION_MS, type LocalKeys, type VerifiedBundle, ownVerifiedBundle } from './keys';
import { randomBytes } from './primitives';
import type { SeenStore } from './seen-store';
import { checkId, type Bytes, bytesEqual } from '../../protocol/bytes';

/** One epoch as a member holds it. */
export interface GroupEpoch {
  readonly groupId: string;
  readonly epoch: number;
  readonly kind: EpochKind;
  readonly actor: string;
  readonly members: readonly string[];
  readonly createdAt: number;
  readonly statementHash: Bytes;
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

/** One 1:1 key-share envelope to hand to the server for `recipientId`. */
export interface OutgoingKeyShare {
  readonly recipientId: string;
  readonly messageId: string;
  readonly envelope: Bytes;
}

/** A freshly made epoch: publish the statement and the key-shares, keep the view. */
export interface NewEpoch {
  readonly statement: EpochStatement;
  readonly keyShares: readonly OutgoingKeyShare[];
  readonly epoch: GroupEpoch;
  readonly view: GroupView;
}

/** The verified bundles of the other members, by user id (my own is made from my keys). */
export type MemberBundles = ReadonlyMap<string, VerifiedBundle>;

async function makeEpoch(
  unsigned: UnsignedStatement,
  me: LocalKeys,
  memberBundles: MemberBundles,
  previousEpochs: readonly GroupEpoch[],
): Promise<NewEpoch> {
  const statement = await signStatement(unsigned, me.identitySign.privateKey);
  const hash = await statementHash(statement);
  const groupKey = randomBytes(GROUP_KEY_BYTES);
  const keyShares: OutgoingKeyShare[] = [];
  for (const member of statement.members) {
    const recipient =
      member === me.userId ? await ownVerifiedBundle(me) : memberBundles.get(member);
    if (!recipient) throw new CryptoError('BAD_INPUT', `no verified bundle for member ${member}`);
    const messageId = globalThis.crypto.randomUUID();
    const envelope = await sealDirect({
      sender: me,
      recipient,
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
    keyShares.push({ recipientId: member, messageId, envelope });
  }
  const epoch = epochFrom(statement, hash, groupKey);
  return {
    statement,
    keyShares,
    epoch,
    view: { groupId: statement.groupId, epochs: [...previousEpochs, epoch] },
  };
}

function epochFrom(statement: EpochStatement, hash: Bytes, groupKey: Bytes): GroupEpoch {
  const { groupId, epoch, kind, actor, members, createdAt } = statement;
  return { groupId, epoch, kind, actor, members, createdAt, statementHash: hash, groupKey };
}

/** Epoch 1, made by the client the server answered `created: true`. */
export async function createGroup(input: {
  groupId: string;
  me: LocalKeys;
  now: number;
}): Promise<NewEpoch> {
  const { groupId, me, now } = input;
  checkId(groupId, 'group id');
  const unsigned: UnsignedStatement = {
    groupId,
    epoch: 1,
    kind: 'create',
    actor: me.userId,
    members: [me.userId],
    previousHash: NO_PREVIOUS_EPOCH,
    createdAt: now,
  };
  return makeEpoch(unsigned, me, new Map(), []);
}

export interface JoinInput {
  readonly me: LocalKeys;
  /** The group's latest statement, as the server serves it. */
  readonly latest: EpochStatement;
  /** Verified bundle of the latest statement's actor (its signature is checked). */
  readonly latestActor: VerifiedBundle;
  /** Verified bundles of the latest epoch's members. */
  readonly memberBundles: MemberBundles;
  readonly now: number;
}

/**
 * Joining: a new epoch = the latest epoch's members plus me, signed by me, with a new key for
 * everyone. A joiner has no history to check the latest statement against beyond its signature
 * (trust on first use of the group); the members do the real checks in acceptEpoch.
 */
export async function createJoinEpoch(input: JoinInput): Promise<NewEpoch> {
  const { me, latest } = input;
  await verifyStatement(latest, input.latestActor);
  if (latest.members.includes(me.userId)) {
    throw new CryptoError('MEMBERS_MISMATCH', `${me.userId} is already in epoch ${latest.epoch}`);
  }
  const unsigned: UnsignedStatement = {
    groupId: latest.groupId,
    epoch: latest.epoch + 1,
    kind: 'join',
    actor: me.userId,
    members: sortMembers([...latest.members, me.userId]),
    previousHash: await statementHash(latest),
    createdAt: input.now,
  };
  return makeEpoch(unsigned, me, input.memberBundles, []);
}

/** Members of my current epoch that the server no longer lists: non-empty means "rotate first". */
export function departedMembers(view: GroupView, serverMembers: Iterable<string>): string[] {
  const listed = new Set(serverMembers);
  return currentEpoch(view).members.filter((member) => !listed.has(member));
}

export interface RotationInput {
  readonly view: GroupView;
  readonly me: LocalKeys;
  /** Who stays: a strict subset of the current members that includes me. */
  readonly remaining: Iterable<string>;
  readonly memberBundles: MemberBundles;
  readonly now: number;
}

/** After a leave: a new epoch without the leavers, so they cannot read what follows. */
export async function createRotationEpoch(input: RotationInput): Promise<NewEpoch> {
  const { view, me } = input;
  const current = currentEpoch(view);
  const members = sortMembers(input.remaining);
  if (!current.members.includes(me.userId) || !members.includes(me.userId)) {
    throw new CryptoError('NOT_A_MEMBER', `${me.userId} cannot rotate a group it is not in`);
  }
  checkRemoval(current.members, members);
  const unsigned: UnsignedStatement = {
    groupId: view.groupId,
    epoch: current.epoch + 1,
    kind: 'rotate',
    actor: me.userId,
    members,
    previousHash: current.statementHash,
    createdAt: input.now,
  };
  return makeEpoch(unsigned, me, input.memberBundles, view.epochs);
}

/** `after` must be `before` minus at least one member, with no one added. */
function checkRemoval(before: readonly string[], after: readonly string[]): string[] {
  const removed = before.filter((member) => !after.includes(member));
  if (removed.length === 0 || after.some((member) => !before.includes(member))) {
    throw new CryptoError(
      'MEMBERS_MISMATCH',
      'a rotation removes at least one member and adds none',
    );
  }
  return removed;
}

export type EpochChange =
  | { readonly kind: 'join'; readonly member: string }
  | { readonly kind: 'rotate'; readonly removed: readonly string[]; readonly by: string }
  /** The same epoch again (redelivery): nothing changed. */
  | { readonly kind: 'unchanged' };

export interface AcceptEpochInput {
  readonly view: GroupView;
  readonly statement: EpochStatement;
  /** Verified bundle of statement.actor. */
  readonly actor: VerifiedBundle;
  /** The key-share envelope addressed to me. */
  readonly keyShare: Uint8Array;
  /** The sender the server authenticated for the key-share. */
  readonly authenticatedSenderId: string;
  readonly me: LocalKeys;
  readonly seen: SeenStore;
  readonly now: number;
}

export interface AcceptedEpoch {
  readonly view: GroupView;
  readonly epoch: GroupEpoch;
  /** What to show: "X joined", "Y removed Z". */
  readonly change: EpochChange;
}

/**
 * Accepts a new epoch only when it is signed by its actor, a member of its list (WRONG_SENDER,
 * NOT_A_MEMBER, BAD_SIGNATURE); it is the next number after my current epoch and chains to it
 * (BAD_EPOCH; a different epoch under a number I already hold, or one chained to another
 * predecessor, is EPOCH_FORK); its list is my view plus the joiner, or my view minus the leavers
 * for a rotation by a remaining member (MEMBERS_MISMATCH, NOT_A_MEMBER); I am in it; and the
 * key-share, a 1:1 envelope from the actor to me, names exactly this epoch.
 */
export async function acceptEpoch(input: AcceptEpochInput): Promise<AcceptedEpoch> {
  const { view, statement, me } = input;
  if (statement.groupId !== view.groupId) {
    throw new CryptoError(
      'BAD_EPOCH',
      `a statement for group ${statement.groupId}, not ${view.groupId}`,
    );
  }
  await verifyStatement(statement, input.actor);
  const hash = await statementHash(statement);
  const held = findEpoch(view, statement.epoch);
  if (held) {
    if (bytesEqual(held.statementHash, hash))
      return { view, epoch: held, change: { kind: 'unchanged' } };
    throw new CryptoError(
      'EPOCH_FORK',
      `two different epochs ${statement.epoch} in group ${view.groupId}`,
    );
  }
  const current = currentEpoch(view);
  if (statement.epoch !== current.epoch + 1) {
    throw new CryptoError(
      'BAD_EPOCH',
      `epoch ${statement.epoch} does not follow my epoch ${current.epoch}`,
    );
  }
  if (!bytesEqual(statement.previousHash, current.statementHash)) {
    throw new CryptoError(
      'EPOCH_FORK',
      `epoch ${statement.epoch} builds on another epoch ${current.epoch}`,
    );
  }
  const change = checkMembershipChange(current, statement);
  if (!statement.members.includes(me.userId)) {
    throw new CryptoError('NOT_A_MEMBER', `${me.userId} is not in epoch ${statement.epoch}`);
  }
  const opened = await openDirect({
    envelope: input.keyShare,
    me,
    sender: input.actor,
    authenticatedSenderId: input.authenticatedSenderId,
    expectedType: 'key-share',
    seen: input.seen,
    now: input.now,
  });
  if (opened.body.type !== 'key-share') throw new CryptoError('WRONG_TYPE', 'not a key-share');
  const share = opened.body.keyShare;
  if (share.groupId !== statement.groupId || share.epoch !== statement.epoch) {
    throw new CryptoError(
      'BAD_EPOCH',
      `the key-share is for ${share.groupId} epoch ${share.epoch}`,
    );
  }
  if (!bytesEqual(share.statementHash, hash)) {
    throw new CryptoError(
      'EPOCH_FORK',
      `the key-share belongs to another epoch ${statement.epoch}`,
    );
  }
  const epoch = epochFrom(statement, hash, share.groupKey as Bytes);
  return { view: { groupId: view.groupId, epochs: [...view.epochs, epoch] }, epoch, change };
}

function checkMembershipChange(current: GroupEpoch, statement: EpochStatement): EpochChange {
  const kind = statement.kind;
  switch (kind) {
    case 'create':
      throw new CryptoError('BAD_EPOCH', 'a group is created only once, as epoch 1');
    case 'join': {
      const expected = sortMembers([...current.members, statement.actor]);
      if (current.members.includes(statement.actor) || !sameMembers(expected, statement.members)) {
        throw new CryptoError(
          'MEMBERS_MISMATCH',
          `epoch ${statement.epoch} is not my members plus ${statement.actor}`,
        );
      }
      return { kind: 'join', member: statement.actor };
    }
    case 'rotate': {
      if (!current.members.includes(statement.actor)) {
        throw new CryptoError(
          'NOT_A_MEMBER',
          `${statement.actor} was not a member, so cannot rotate`,
        );
      }
      return {
        kind: 'rotate',
        removed: checkRemoval(current.members, statement.members),
        by: statement.actor,
      };
    }
    default: {
      const unreachable: never = kind;
      throw new CryptoError('MALFORMED', `unknown epoch kind ${String(unreachable)}`);
    }
  }
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
