/**
 * verifyNextStatement: the checks a group statement must pass before anyone (the server before it
 * stores it, a member before it uses the epoch) takes it, with public data only: the signing keys
 * users published and the verifier's clock. Each refusal is a CryptoError with its own code:
 *
 *   WRONG_GROUP        another group than the previous statement's
 *   BAD_EPOCH          not epoch previous + 1 (or not a `create` at epoch 1 without a previous)
 *   EPOCH_FORK         the previous hash is not the previous statement's hash
 *   UNKNOWN_SIGNER     no published signing key for the maker or an artefact's signer
 *   BAD_SIGNATURE      not signed by the maker
 *   TIME_REGRESSION    createdAt before the previous statement's
 *   FROM_THE_FUTURE    createdAt or an artefact's time more than CLOCK_SLACK_MS ahead of the
 *                      verifier's clock: retryable (error.retryable), not a verdict
 *   NOT_A_REKEY        a `rekey` that changes anything but the key
 *   NO_CHANGE          a `change` that changes nothing
 *   NOT_A_MEMBER       the maker was not a member and is not a joiner adding itself, or is not in
 *                      the new epoch
 *   MEMBERS_MISMATCH   members ≠ previous members + additions − removals
 *   BAD_ARTEFACT       an artefact of the wrong kind or group
 *   GROUP_CLOSED       a join request into a group closed to joins
 *   NOT_AN_ADMIN       an admin artefact by a non-admin, or admins or the closed flag changed by
 *                      a maker who was not an admin
 *   STALE_ARTEFACT     an addition not newer than the user's last departure the verifier knows of,
 *                      or a removal not newer than the user's last addition (a replayed artefact)
 *   BAD_ARTEFACT_SIGNATURE  an artefact not signed by its signer
 */
import { bytesEqual } from './bytes';
import { CryptoError } from './crypto-error';
import {
  type GroupArtefact,
  artefactSigner,
  artefactSubject,
  isAddition,
  verifyArtefact,
} from './group-artefacts';
import {
  type GroupStatement,
  NO_PREVIOUS_STATEMENT,
  adminIds,
  memberIds,
  statementHash,
  statementSignedBytes,
} from './group-statement';
import { CLOCK_SLACK_MS } from './limits';
import { ed25519Verify } from './signatures';
import { missingCase } from './missing-case';

/** When a user was last added to and last dropped from the group, by artefact time. */
export interface MemberHistory {
  readonly addedAt?: number;
  readonly departedAt?: number;
}

export interface StatementContext {
  /** The user's Ed25519 public key as published (or as pinned by a client); undefined if none. */
  readonly signingKeyOf: (
    userId: string,
  ) => Uint8Array | undefined | Promise<Uint8Array | undefined>;
  /** The verifier's clock, epoch milliseconds. */
  readonly now: number;
  /** What the verifier knows of earlier epochs (memberHistory() of the chain it holds); the
   * previous statement's own changes are taken into account whether or not they are in here. */
  readonly history?: ReadonlyMap<string, MemberHistory>;
}

export interface VerifiedStatement {
  readonly statement: GroupStatement;
  readonly hash: Uint8Array;
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly adminsAdded: readonly string[];
  readonly adminsRemoved: readonly string[];
  readonly closedChanged: boolean;
}

/** The latest addition and departure of each user in a chain of statements, oldest first. */
export function memberHistory(
  chain: Iterable<GroupStatement>,
  into: ReadonlyMap<string, MemberHistory> = new Map(),
): Map<string, MemberHistory> {
  const history = new Map(into);
  const note = (userId: string, change: MemberHistory): void => {
    const known = history.get(userId) ?? {};
    const latest = (a?: number, b?: number) =>
      a === undefined ? b : b === undefined ? a : Math.max(a, b);
    history.set(userId, {
      addedAt: latest(known.addedAt, change.addedAt),
      departedAt: latest(known.departedAt, change.departedAt),
    });
  };
  for (const statement of chain) {
    if (statement.kind === 'create') note(statement.maker, { addedAt: statement.createdAt });
    for (const artefact of statement.additions)
      note(artefactSubject(artefact), { addedAt: artefact.time });
    for (const artefact of statement.removals)
      note(artefactSubject(artefact), { departedAt: artefact.time });
  }
  return history;
}

async function keyOf(context: StatementContext, userId: string): Promise<Uint8Array> {
  const key = await context.signingKeyOf(userId);
  if (!key) throw new CryptoError('UNKNOWN_SIGNER', `${userId} has no published signing key`);
  return key;
}

function checkNotFuture(time: number, context: StatementContext, what: string): void {
  if (time > context.now + CLOCK_SLACK_MS) {
    throw new CryptoError(
      'FROM_THE_FUTURE',
      `${what} is dated ${Math.round((time - context.now) / 1000)} s ahead of this clock: retry later`,
    );
  }
}

/**
 * Checks `next` as the epoch after `previous` (undefined: `next` must create the group). The
 * caller must already trust `previous` (it verified it, or holds it as its current epoch).
 */
export async function verifyNextStatement(
  previous: GroupStatement | undefined,
  next: GroupStatement,
  context: StatementContext,
): Promise<VerifiedStatement> {
  await checkChain(previous, next);
  const makerKey = await keyOf(context, next.maker);
  if (!(await ed25519Verify(makerKey, next.signature, statementSignedBytes(next)))) {
    throw new CryptoError('BAD_SIGNATURE', `epoch ${next.epoch} is not signed by ${next.maker}`);
  }
  checkNotFuture(next.createdAt, context, `epoch ${next.epoch}`);
  if (!previous) return checkCreate(next);
  if (next.createdAt < previous.createdAt) {
    throw new CryptoError(
      'TIME_REGRESSION',
      `epoch ${next.epoch} is dated before epoch ${previous.epoch}`,
    );
  }
  const history = memberHistory([previous], context.history);
  const result = checkMembership(previous, next);
  await checkArtefacts(previous, next, history, context);
  return { statement: next, hash: await statementHash(next), ...result };
}

async function checkChain(previous: GroupStatement | undefined, next: GroupStatement) {
  if (!previous) {
    if (next.epoch !== 1 || next.kind !== 'create')
      throw new CryptoError('BAD_EPOCH', `epoch ${next.epoch} needs the statement before it`);
    if (!bytesEqual(next.previousHash, NO_PREVIOUS_STATEMENT))
      throw new CryptoError('EPOCH_FORK', 'epoch 1 builds on nothing');
    return;
  }
  if (next.groupId !== previous.groupId) {
    throw new CryptoError(
      'WRONG_GROUP',
      `a statement of ${next.groupId} after one of ${previous.groupId}`,
    );
  }
  if (next.epoch !== previous.epoch + 1 || next.kind === 'create') {
    throw new CryptoError(
      'BAD_EPOCH',
      `a ${next.kind} epoch ${next.epoch} cannot follow epoch ${previous.epoch}`,
    );
  }
  if (!bytesEqual(next.previousHash, await statementHash(previous))) {
    throw new CryptoError(
      'EPOCH_FORK',
      `epoch ${next.epoch} builds on another epoch ${previous.epoch}`,
    );
  }
}

async function checkCreate(next: GroupStatement): Promise<VerifiedStatement> {
  const [only] = next.members;
  if (next.members.length !== 1 || only?.userId !== next.maker || !only.admin) {
    throw new CryptoError('MEMBERS_MISMATCH', 'epoch 1 has its maker as the only member and admin');
  }
  if (next.additions.length > 0 || next.removals.length > 0)
    throw new CryptoError('MEMBERS_MISMATCH', 'epoch 1 adds and removes no one');
  return {
    statement: next,
    hash: await statementHash(next),
    added: [next.maker],
    removed: [],
    adminsAdded: [next.maker],
    adminsRemoved: [],
    closedChanged: false,
  };
}

type MembershipChange = Omit<VerifiedStatement, 'statement' | 'hash'>;

function checkMembership(previous: GroupStatement, next: GroupStatement): MembershipChange {
  const before = new Set(memberIds(previous));
  const added = next.additions.map(artefactSubject);
  const removed = next.removals.map(artefactSubject);
  for (const userId of added) {
    if (before.has(userId))
      throw new CryptoError('MEMBERS_MISMATCH', `${userId} is added but was a member`);
  }
  for (const userId of removed) {
    if (!before.has(userId))
      throw new CryptoError('MEMBERS_MISMATCH', `${userId} is removed but was not a member`);
  }
  const expected = new Set([...before, ...added]);
  for (const userId of removed) expected.delete(userId);
  const after = memberIds(next);
  if (after.length !== expected.size || after.some((userId) => !expected.has(userId))) {
    throw new CryptoError(
      'MEMBERS_MISMATCH',
      `the members of epoch ${next.epoch} are not those of epoch ${previous.epoch} plus its additions minus its removals`,
    );
  }
  checkMaker(previous, next, before);
  const change = checkAdmins(previous, next, before);
  const changesAnything =
    added.length > 0 ||
    removed.length > 0 ||
    change.adminsAdded.length > 0 ||
    change.adminsRemoved.length > 0 ||
    change.closedChanged;
  if (next.kind === 'rekey' && changesAnything)
    throw new CryptoError('NOT_A_REKEY', `rekey epoch ${next.epoch} changes more than the key`);
  if (next.kind === 'change' && !changesAnything)
    throw new CryptoError('NO_CHANGE', `change epoch ${next.epoch} changes nothing: use a rekey`);
  return { added, removed, ...change };
}

function checkMaker(previous: GroupStatement, next: GroupStatement, before: Set<string>): void {
  const joinsItself = next.additions.some(
    (artefact) => artefact.kind === 'join' && artefact.userId === next.maker,
  );
  if (!before.has(next.maker) && !joinsItself) {
    throw new CryptoError(
      'NOT_A_MEMBER',
      `${next.maker} was not in epoch ${previous.epoch} and does not join in epoch ${next.epoch}`,
    );
  }
  if (!memberIds(next).includes(next.maker))
    throw new CryptoError('NOT_A_MEMBER', `${next.maker} makes an epoch it is not in`);
}

/** Admins and the closed flag change only by an admin of the previous epoch; when no admin of it
 * remains, a remaining member may name itself (and only itself) admin. */
function checkAdmins(
  previous: GroupStatement,
  next: GroupStatement,
  before: Set<string>,
): Pick<MembershipChange, 'adminsAdded' | 'adminsRemoved' | 'closedChanged'> {
  const adminsBefore = new Set(adminIds(previous));
  const adminsAfter = adminIds(next);
  const adminsAdded = adminsAfter.filter((userId) => !adminsBefore.has(userId));
  const stillMembers = new Set(memberIds(next));
  const adminsRemoved = [...adminsBefore].filter(
    (userId) => !adminsAfter.includes(userId) && stillMembers.has(userId),
  );
  const closedChanged = next.closed !== previous.closed;
  if (!adminsBefore.has(next.maker)) {
    if (closedChanged)
      throw new CryptoError(
        'NOT_AN_ADMIN',
        `${next.maker} is not an admin: it cannot close or open the group`,
      );
    const remaining = [...adminsBefore].filter((userId) => stillMembers.has(userId));
    const selfNamed =
      remaining.length === 0 &&
      before.has(next.maker) &&
      adminsAfter.length === 1 &&
      adminsAfter[0] === next.maker;
    const unchanged =
      adminsAfter.length === remaining.length && remaining.every((id) => adminsAfter.includes(id));
    if (!unchanged && !selfNamed)
      throw new CryptoError(
        'NOT_AN_ADMIN',
        `${next.maker} is not an admin: it cannot change the admins`,
      );
  }
  return { adminsAdded, adminsRemoved, closedChanged };
}

async function checkArtefacts(
  previous: GroupStatement,
  next: GroupStatement,
  history: ReadonlyMap<string, MemberHistory>,
  context: StatementContext,
): Promise<void> {
  const adminsBefore = new Set(adminIds(previous));
  for (const artefact of [...next.additions, ...next.removals]) {
    const subject = artefactSubject(artefact);
    checkAuthority(artefact, previous, adminsBefore);
    const known = history.get(subject) ?? {};
    const adds = isAddition(artefact);
    const last = adds ? known.departedAt : known.addedAt;
    if (last !== undefined && artefact.time <= last) {
      throw new CryptoError(
        'STALE_ARTEFACT',
        `the ${artefact.kind} artefact about ${subject} is not newer than their last ${adds ? 'departure' : 'addition'}`,
      );
    }
    checkNotFuture(artefact.time, context, `the ${artefact.kind} artefact about ${subject}`);
    await verifyArtefact(artefact, await keyOf(context, artefactSigner(artefact)));
  }
}

function checkAuthority(
  artefact: GroupArtefact,
  previous: GroupStatement,
  adminsBefore: Set<string>,
): void {
  const kind = artefact.kind;
  switch (kind) {
    case 'join':
      if (previous.closed)
        throw new CryptoError(
          'GROUP_CLOSED',
          `${artefact.userId} cannot join a closed group: an admin adds members`,
        );
      return;
    case 'leave':
      return;
    case 'admin-add':
    case 'admin-remove':
      if (!adminsBefore.has(artefact.admin)) {
        throw new CryptoError(
          'NOT_AN_ADMIN',
          `${artefact.admin} was not an admin of epoch ${previous.epoch}`,
        );
      }
      return;
    default: {
      return missingCase(kind, new CryptoError('BAD_ARTEFACT', `unknown artefact ${String(kind)}`));
    }
  }
}
