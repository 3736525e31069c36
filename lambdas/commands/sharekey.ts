/**
 * Group epochs (DESIGN.md section 4): `sharekey` stores epoch current + 1 with its signed
 * statement and one wrapped key per member of it. Before anything is written the server checks
 * the statement with public data only (verifyNextStatement: signature, chain, membership and
 * admin rules, time; then decideRoster and the roster's own artefacts), so no member can store
 * an epoch honest members must refuse. The maker then holds a claim on the epoch while it stores
 * the key-shares (a big epoch takes several frames); the epoch becomes current, and its entry
 * goes into the group's log and out to every member, only once every member's key-share is
 * stored. A claim not completed within `epochClaimMs` may be taken over by another maker, so a
 * maker that never finishes blocks nobody; meanwhile messages go on in the current epoch.
 *
 * The group item decides: claimEpoch and completeEpoch are conditional updates of it. Key-shares
 * carry their statement's hash, so an overtaken claim's shares are replaced and never served
 * with another statement. `sharekey {op:'fetch'}` gives a member every key-share it was given
 * in a group, for a device past the log's retention.
 */
import { fromBase64, toBase64 } from '../../protocol/bytes';
import { ProtocolError } from '../../protocol/errors';
import { artefactSigner, artefactSubject } from '../../protocol/group-artefacts';
import { decideRoster } from '../../protocol/group-roster';
import {
  adminIds,
  decodeStatement,
  type GroupStatement,
  memberIds,
  statementHash,
} from '../../protocol/group-statement';
import { verifyNextStatement } from '../../protocol/group-verify';
import {
  type KeyShareRecordWire,
  SharekeyFrame,
  type SharekeyFetchReply,
  type SharekeyStoreReply,
} from '../../protocol/groups';
import { commandHandler } from '../runtime/command-handler';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import { pushToUsers } from '../shared/delivery';
import { requireGroupMember } from '../shared/group-access';
import { refused, rosterState, serverRoster, signingKeysOf } from '../shared/group-roster';
import { FAN_OUT_CONCURRENCY, mapWithPool } from '../shared/pool';
import { assertWithinRate } from '../shared/rate-limits';
import { fitInReply } from '../shared/reply-size';
import { requireUser } from '../shared/sessions';
import { epochEvent, live, noticeId, sameStatement } from '../shared/stream-events';
import type { KeyShareRecord } from '../stores/group-epochs';
import type { EpochClaim, GroupRecord } from '../stores/groups';

/** Epochs per `fetch` page at most; fewer when they would not fit in 128 KB (lambdas/shared/reply-size.ts). */
export const KEY_SHARE_PAGE = 5;

/** Tries of a claim whose roster moved meanwhile (a join or leave between read and claim). */
const CLAIM_ATTEMPTS = 4;

type StoreFrame = Extract<SharekeyFrame, { op: 'store' }>;

type FetchFrame = Extract<SharekeyFrame, { op: 'fetch' }>;

const staleEpoch = (group: GroupRecord, epoch: number) =>
  new ProtocolError(
    'CONFLICT',
    `Epoch ${epoch} cannot be stored in group "${group.groupId}": its current epoch is ${group.epoch}. Fetch its members and make epoch ${group.epoch + 1} on top of it.`,
  );

const rosterConflict = (groupId: string, why: string) =>
  new ProtocolError(
    'CONFLICT',
    `The roster of group "${groupId}" differs from the statement: ${why}. Fetch its members and make the epoch again.`,
  );

export async function shareKey(deps: ServerDeps, frame: SharekeyFrame, context: RouteContext) {
  return frame.op === 'fetch'
    ? fetchKeyShares(deps, frame, context)
    : storeEpoch(deps, frame, context);
}

interface StatementInFrame {
  readonly text: string;
  readonly statement: GroupStatement;
  readonly hash: string;
}

async function statementOf(frame: StoreFrame): Promise<StatementInFrame | undefined> {
  if (frame.statement === undefined) {
    if (frame.statementHash === undefined)
      throw new ProtocolError(
        'BAD_REQUEST',
        'A sharekey store carries the statement (or, after the first frame, its statementHash).',
      );
    return undefined;
  }
  let statement: GroupStatement;
  try {
    statement = decodeStatement(fromBase64(frame.statement));
  } catch (error) {
    throw refused(error, `The statement of epoch ${frame.epoch}`);
  }
  const hash = toBase64(await statementHash(statement));
  if (frame.statementHash !== undefined && frame.statementHash !== hash)
    throw new ProtocolError('BAD_REQUEST', 'statementHash is not the hash of the statement.');
  if (statement.epoch !== frame.epoch || statement.groupId !== frame.groupId)
    throw new ProtocolError(
      'BAD_REQUEST',
      `The statement is for epoch ${statement.epoch} of "${statement.groupId}", the frame names epoch ${frame.epoch} of "${frame.groupId}".`,
    );
  return { text: frame.statement, statement, hash };
}

const liveClaimOf = (group: GroupRecord, epoch: number, now: number, claimMs: number) =>
  group.claim && group.claim.epoch === epoch && group.claim.at >= now - claimMs
    ? group.claim
    : undefined;

const claimHeld = (groupId: string, claim: EpochClaim, claimMs: number, now: number) =>
  new ProtocolError(
    'CONFLICT',
    `Epoch ${claim.epoch} of group "${groupId}" is being made by ${claim.by}. Wait for it (it becomes current when its key-shares are stored) or retry in ${Math.ceil((claim.at + claimMs - now) / 1000)} s, when it may be taken over.`,
  );

/** The server's checks of a new statement against the stored chain and its own roster. */
async function checkStatement(
  deps: ServerDeps,
  group: GroupRecord,
  next: GroupStatement,
  me: string,
): Promise<void> {
  if (next.maker !== me)
    throw new ProtocolError('FORBIDDEN', `The statement is made by ${next.maker}: sign your own.`);
  if (next.epoch === 1 && group.createdBy !== me)
    throw new ProtocolError(
      'FORBIDDEN',
      `Epoch 1 of "${group.groupId}" is made by its creator, ${group.createdBy}.`,
    );
  const stored =
    group.epoch > 0 ? await deps.groupEpochs.getEpoch(group.groupId, group.epoch) : undefined;
  const previous = stored && decodeStatement(fromBase64(stored.statement));
  const signers = [next.maker, ...[...next.additions, ...next.removals].map(artefactSigner)];
  const keys = await signingKeysOf(deps, signers);
  try {
    await verifyNextStatement(previous, next, {
      signingKeyOf: (userId) => keys.get(userId),
      now: deps.now(),
    });
  } catch (error) {
    throw refused(error, `The statement of epoch ${next.epoch}`);
  }
}

/** decideRoster plus what only the server knows: who is on its roster at all. */
async function checkRoster(deps: ServerDeps, group: GroupRecord, next: GroupStatement) {
  const state = rosterState(group);
  const onRoster = new Set([...group.memberIds, ...state.departed]);
  const strangers = memberIds(next).filter((id) => !onRoster.has(id));
  if (strangers.length > 0)
    throw rosterConflict(group.groupId, `${strangers.join(', ')} never joined`);
  const pending = new Set(state.pendingAdditions);
  const notPending = next.additions.map(artefactSubject).filter((id) => !pending.has(id));
  if (notPending.length > 0)
    throw rosterConflict(group.groupId, `${notPending.join(', ')} has no pending addition`);
  const departed = new Set(state.departed);
  const notDeparted = next.removals.map(artefactSubject).filter((id) => !departed.has(id));
  if (notDeparted.length > 0)
    throw rosterConflict(group.groupId, `${notDeparted.join(', ')} did not leave`);
  const decision = decideRoster(next, await serverRoster(deps, group, state));
  if (decision.outcome === 'conflict') {
    const reasons = [
      ...(decision.leftSince.length > 0 ? [`${decision.leftSince.join(', ')} left since`] : []),
      ...(decision.droppedWithoutArtefact.length > 0
        ? [`${decision.droppedWithoutArtefact.join(', ')} dropped without a leave or removal`]
        : []),
    ];
    throw rosterConflict(group.groupId, reasons.join('; '));
  }
}

/** Checks the statement, then claims its epoch (again, while joins and leaves move the roster). */
async function claim(
  deps: ServerDeps,
  first: GroupRecord,
  frame: StoreFrame,
  found: StatementInFrame,
  me: string,
): Promise<GroupRecord> {
  const claimMs = deps.limits.epochClaimMs;
  await checkStatement(deps, first, found.statement, me);
  await deps.groupEpochs.putClaimedStatement(first.groupId, frame.epoch, found.hash, found.text);
  let group = first;
  for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
    const now = deps.now();
    const held = liveClaimOf(group, frame.epoch, now, claimMs);
    if (held && !(held.by === me && held.statementHash === found.hash))
      throw claimHeld(group.groupId, held, claimMs, now);
    await checkRoster(deps, group, found.statement);
    const result = await deps.groups.claimEpoch({
      groupId: group.groupId,
      epoch: frame.epoch,
      proposer: me,
      statementHash: found.hash,
      rosterVersion: group.rosterVersion,
      members: memberIds(found.statement),
      now,
      expiredBefore: now - claimMs,
    });
    if (result.outcome === 'claimed') return result.group;
    const latest = result.group;
    if (!latest?.memberIds.includes(me))
      throw new ProtocolError('FORBIDDEN', `You are no longer a member of "${frame.groupId}".`);
    if (latest.epoch !== frame.epoch - 1) throw staleEpoch(latest, frame.epoch);
    group = latest; // the roster or a claim moved: decide again
  }
  throw rosterConflict(first.groupId, 'it kept changing while the epoch was claimed');
}

/** One key-share per recipient, each a member of the epoch. */
function checkKeyShares(frame: StoreFrame, groupId: string, members: readonly string[]): void {
  const recipients = new Set<string>();
  for (const share of frame.keyShares) {
    if (recipients.has(share.to))
      throw new ProtocolError(
        'BAD_REQUEST',
        `Two key-shares for "${share.to}": send one per member.`,
      );
    recipients.add(share.to);
    if (!members.includes(share.to))
      throw new ProtocolError(
        'BAD_REQUEST',
        `"${share.to}" is not a member of epoch ${frame.epoch} of group "${groupId}".`,
      );
  }
}

async function storeEpoch(
  deps: ServerDeps,
  frame: StoreFrame,
  context: RouteContext,
): Promise<SharekeyStoreReply> {
  const me = (await requireUser(deps, context)).userId;
  await assertWithinRate(deps, 'keyShares', me, deps.now(), frame.keyShares.length);
  let group = await requireGroupMember(deps, frame.groupId, me);
  const found = await statementOf(frame);
  const hash = found?.hash ?? frame.statementHash!;
  const reply = (
    current: boolean,
    epochMembers: readonly string[],
    extra: Pick<SharekeyStoreReply, 'stored' | 'missing' | 'deliveredTo'>,
  ): SharekeyStoreReply => ({
    groupId: group.groupId,
    epoch: frame.epoch,
    /** The members this epoch is made for: each needs one key-share. */
    epochMembers: [...epochMembers],
    current,
    ...extra,
  });
  // A replay of the maker's frame after its epoch became current: nothing to do.
  if (group.epoch === frame.epoch && group.epochStatementHash === hash && group.epochBy === me)
    return reply(true, group.epochMembers, { stored: 0, missing: [], deliveredTo: 0 });
  if (group.epoch !== frame.epoch - 1) throw staleEpoch(group, frame.epoch);
  const ours =
    group.claim?.epoch === frame.epoch &&
    group.claim.by === me &&
    group.claim.statementHash === hash;
  if (!ours && !found)
    throw new ProtocolError(
      'CONFLICT',
      `You hold no claim on epoch ${frame.epoch} of "${group.groupId}" (it may have been taken over): send the whole statement.`,
    );
  // Every check of the frame before anything is written: a refused frame changes nothing.
  checkKeyShares(frame, group.groupId, found ? memberIds(found.statement) : group.claim!.members);
  if (!ours) group = await claim(deps, group, frame, found!, me);
  const claimed = group.claim!;

  const now = deps.now();
  const fresh = await mapWithPool(frame.keyShares, FAN_OUT_CONCURRENCY, (share) =>
    deps.groupEpochs.putKeyShare({
      groupId: group.groupId,
      epoch: frame.epoch,
      statementHash: hash,
      to: share.to,
      from: me,
      messageId: share.messageId,
      envelope: share.envelope,
      createdAt: now,
    }),
  );
  const stored = fresh.filter(Boolean).length;
  const shares = await deps.groupEpochs.keySharesOfEpoch(
    group.groupId,
    frame.epoch,
    claimed.members,
  );
  const missing = claimed.members.filter((id) => shares.get(id)?.statementHash !== hash);
  if (missing.length > 0) return reply(false, claimed.members, { stored, missing, deliveredTo: 0 });
  const deliveredTo = await completeEpoch(deps, context, group, claimed, found, shares);
  return reply(true, claimed.members, { stored, missing: [], deliveredTo });
}

/** Every key-share is stored: the epoch becomes current, goes into the log and out to members. */
async function completeEpoch(
  deps: ServerDeps,
  context: RouteContext,
  group: GroupRecord,
  claimed: EpochClaim,
  found: StatementInFrame | undefined,
  shares: ReadonlyMap<string, KeyShareRecord>,
): Promise<number> {
  const text =
    found?.text ??
    (await deps.groupEpochs.getClaimedStatement(
      group.groupId,
      claimed.epoch,
      claimed.statementHash,
    ));
  if (!text)
    throw new Error(`claimed statement of ${group.groupId} epoch ${claimed.epoch} missing`);
  const statement = found?.statement ?? decodeStatement(fromBase64(text));
  const now = deps.now();
  const result = await deps.groups.completeEpoch({
    groupId: group.groupId,
    claim: claimed,
    admins: adminIds(statement),
    closed: statement.closed,
    // Departures this epoch carries, or of users it never named: none is pending any more.
    carried: group.departed.filter((id) => !claimed.members.includes(id)),
    now,
  });
  if (result.outcome === 'stale') {
    // Another frame of the same maker completed it first (its pushes went out), or the claim
    // was overtaken after this frame's check.
    const latest = result.group;
    if (latest?.epoch === claimed.epoch && latest.epochStatementHash === claimed.statementHash)
      return 0;
    throw new ProtocolError(
      'CONFLICT',
      `Your claim on epoch ${claimed.epoch} of "${group.groupId}" was taken over. Fetch its members and make the next epoch.`,
    );
  }
  const current = result.group;
  await deps.groupEpochs.putEpoch({
    groupId: group.groupId,
    epoch: claimed.epoch,
    statement: text,
    statementHash: claimed.statementHash,
    proposer: claimed.by,
    members: claimed.members,
    createdAt: now,
  });
  const entry = {
    kind: 'epoch',
    groupId: group.groupId,
    messageId: noticeId('epoch', group.groupId, claimed.epoch),
    from: claimed.by,
    epoch: claimed.epoch,
    statement: text,
    statementHash: claimed.statementHash,
    sentAt: now,
  } as const;
  const logSeq = current.epochLogSeq ?? 0;
  await deps.groupLog.putEntry(logSeq, entry, now);
  // A member who blocks the maker gets the epoch without its key-share (and rekeys).
  const blockers = await deps.users.blockersOf(claimed.members, claimed.by);
  const pushed = await mapWithPool(claimed.members, FAN_OUT_CONCURRENCY, (to) => {
    const share = blockers.has(to) ? undefined : shares.get(to);
    return pushToUsers(deps, context, [to], live(epochEvent({ ...entry, seq: logSeq }, share)));
  });
  return pushed.reduce((sum, count) => sum + count, 0);
}

async function fetchKeyShares(
  deps: ServerDeps,
  frame: FetchFrame,
  context: RouteContext,
): Promise<SharekeyFetchReply> {
  const me = (await requireUser(deps, context)).userId;
  const group = await requireGroupMember(deps, frame.groupId, me);
  const shares = await deps.groupEpochs.keySharesFor(
    group.groupId,
    me,
    frame.after ?? 0,
    KEY_SHARE_PAGE,
  );
  const blocked = new Set((await deps.users.get(me))?.blocked ?? []);
  const found: KeyShareRecordWire[] = [];
  for (const share of shares) {
    if (blocked.has(share.from)) continue; // withheld from a blocker: it rekeys
    const epoch = await deps.groupEpochs.getEpoch(group.groupId, share.epoch);
    // A claim never completed (no epoch record), or a share of an overtaken claim's statement.
    if (!epoch || !sameStatement(share, epoch.statementHash)) continue;
    found.push({
      epoch: share.epoch,
      from: share.from,
      messageId: share.messageId,
      envelope: share.envelope,
      statement: epoch.statement,
    });
  }
  // A statement and a key-share can be 40 KB together: a page stops before 128 KB.
  const fixed = { groupId: group.groupId, epoch: group.epoch, next: 0 };
  const keyShares = fitInReply(found, fixed);
  const more = keyShares.length < found.length || shares.length === KEY_SHARE_PAGE;
  // The last epoch this page looked at: skipped epochs (no statement) are not looked at again.
  const through = keyShares.length < found.length ? keyShares.at(-1)!.epoch : shares.at(-1)?.epoch;
  return {
    groupId: group.groupId,
    epoch: group.epoch,
    keyShares,
    ...(more && through !== undefined && { next: through }),
  };
}

export const handler = commandHandler('sharekey', SharekeyFrame, shareKey);
