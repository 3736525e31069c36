/**
 * Group epochs (DESIGN.md section 4): `sharekey` stores epoch current + 1 with its signed
 * statement and one wrapped key per member; the epoch's entry goes into the group's log when the
 * epoch becomes current, and each member reads it there with its own key-share (so offline
 * members get it in their next page); `sharekey {op:'fetch'}` gives a member every key-share it
 * was ever given in a group, for a device past the log's retention.
 *
 * The group item decides which epoch wins: one conditional update moves it from epoch N-1 to N,
 * only for a member, only for the member list the proposer read, and takes the log number of the
 * epoch's entry. Epoch and key-share records are then written under `attribute_not_exists`. A
 * retry (or a further frame of a big epoch) by the same proposer with the same statement carries
 * on where the last one stopped; a replayed frame finds every record stored and pushes nothing.
 */
import { createHash } from 'node:crypto';
import { ProtocolError } from '../../protocol/errors';
import type { KeyShareRecordWire, SharekeyFrame } from '../../protocol/groups';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import type { GroupRecord } from '../stores/group-ports';
import { pushToUsers } from './delivery';
import { requireGroupMember } from './group-access';
import { FAN_OUT_CONCURRENCY, mapWithPool } from './group-pool';
import { fitInReply } from './reply-size';
import { requireUser } from './session';
import { epochEvent, live, noticeId } from './stream-events';
import { assertWithinRate } from './throttle';

/** Epochs per `fetch` page at most; fewer when they would not fit in 128 KB (./reply-size.ts). */
export const KEY_SHARE_PAGE = 5;

type StoreFrame = Extract<SharekeyFrame, { op: 'store' }>;
type FetchFrame = Extract<SharekeyFrame, { op: 'fetch' }>;

const statementHash = (statement: string) =>
  createHash('sha256').update(Buffer.from(statement, 'base64')).digest('hex');

const staleEpoch = (group: GroupRecord, epoch: number) =>
  new ProtocolError(
    'CONFLICT',
    `Epoch ${epoch} cannot be stored in group "${group.groupId}": its current epoch is ${group.epoch}. Make epoch ${group.epoch + 1} on top of it.`,
  );

const rosterChanged = (groupId: string) =>
  new ProtocolError(
    'CONFLICT',
    `The members of group "${groupId}" changed while the epoch was made. Fetch its members and make the epoch again.`,
  );

export async function shareKey(deps: ServerDeps, frame: SharekeyFrame, context: RouteContext) {
  return frame.op === 'fetch'
    ? fetchKeyShares(deps, frame, context)
    : storeEpoch(deps, frame, context);
}

async function storeEpoch(deps: ServerDeps, frame: StoreFrame, context: RouteContext) {
  const me = (await requireUser(deps, context)).userId;
  await assertWithinRate(deps, 'keyShares', me, deps.now(), frame.keyShares.length);
  const group = await requireGroupMember(deps, frame.groupId, me);
  const hash = statementHash(frame.statement);
  const continuing =
    group.epoch === frame.epoch && group.epochBy === me && group.epochStatementHash === hash;
  if (!continuing && group.epoch !== frame.epoch - 1) throw staleEpoch(group, frame.epoch);
  const members = continuing ? group.epochMembers : group.memberIds;

  // Every check before the first write: a refused frame changes nothing.
  const recipients = new Set<string>();
  for (const share of frame.keyShares) {
    if (recipients.has(share.to))
      throw new ProtocolError(
        'BAD_REQUEST',
        `Two key-shares for "${share.to}": send one per member.`,
      );
    recipients.add(share.to);
    if (!members.includes(share.to)) {
      if (!continuing) throw rosterChanged(group.groupId);
      throw new ProtocolError(
        'BAD_REQUEST',
        `"${share.to}" is not a member of epoch ${frame.epoch} of group "${group.groupId}".`,
      );
    }
  }

  const now = deps.now();
  let current = group;
  if (!continuing) {
    const claim = await deps.groups.claimEpoch({
      groupId: group.groupId,
      epoch: frame.epoch,
      proposer: me,
      statementHash: hash,
      rosterVersion: group.rosterVersion,
      members: group.memberIds,
      now,
    });
    if (claim.outcome === 'stale') {
      const latest = claim.group;
      if (!latest?.memberIds.includes(me))
        throw new ProtocolError('FORBIDDEN', `You are no longer a member of "${frame.groupId}".`);
      if (latest.epoch !== frame.epoch - 1) throw staleEpoch(latest, frame.epoch);
      throw rosterChanged(group.groupId);
    }
    current = claim.group;
  }
  // Idempotent: false only when a retry wrote it already (the claim above decided the winner).
  await deps.groups.putEpoch({
    groupId: group.groupId,
    epoch: frame.epoch,
    statement: frame.statement,
    proposer: me,
    members: current.epochMembers,
    createdAt: now,
  });

  // A member keeps its first key-share of an epoch; only newly stored ones are pushed.
  const fresh = await mapWithPool(frame.keyShares, FAN_OUT_CONCURRENCY, (share) =>
    deps.groups.putKeyShare({
      groupId: group.groupId,
      epoch: frame.epoch,
      to: share.to,
      from: me,
      messageId: share.messageId,
      envelope: share.envelope,
      createdAt: now,
    }),
  );
  // The epoch is current: its entry goes into the log at the number its claim took, once (a
  // retry finds it there), after this frame's key-shares so that readers find theirs with it.
  const entry = {
    kind: 'epoch',
    groupId: group.groupId,
    messageId: noticeId('epoch', group.groupId, frame.epoch),
    from: me,
    epoch: frame.epoch,
    statement: frame.statement,
    sentAt: now,
  } as const;
  const logSeq = current.epochLogSeq ?? 0;
  if (current.epochLogSeq !== undefined) await deps.groupLog.putEntry(logSeq, entry, now);
  const stored = frame.keyShares.filter((_, i) => fresh[i]);
  const pushed = await mapWithPool(stored, FAN_OUT_CONCURRENCY, (share) =>
    pushToUsers(
      deps,
      context,
      [share.to],
      live(epochEvent({ ...entry, seq: logSeq }, { ...share, from: me })),
    ),
  );
  return {
    groupId: group.groupId,
    epoch: frame.epoch,
    /** The members this epoch was made for: each needs one key-share. */
    epochMembers: [...current.epochMembers],
    stored: stored.length,
    deliveredTo: pushed.reduce((sum, count) => sum + count, 0),
  };
}

async function fetchKeyShares(deps: ServerDeps, frame: FetchFrame, context: RouteContext) {
  const me = (await requireUser(deps, context)).userId;
  const group = await requireGroupMember(deps, frame.groupId, me);
  const shares = await deps.groups.keySharesFor(
    group.groupId,
    me,
    frame.after ?? 0,
    KEY_SHARE_PAGE,
  );
  const found: KeyShareRecordWire[] = [];
  for (const share of shares) {
    const epoch = await deps.groups.getEpoch(group.groupId, share.epoch);
    if (!epoch) continue; // a claim whose proposer never came back: no statement, no epoch
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
