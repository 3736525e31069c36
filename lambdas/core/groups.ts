/**
 * Groups: create, join (creating when missing), leave, list, members. Membership and its count
 * live in the group item and change only by conditional updates, each taking the number of its
 * `member-joined` / `member-left` entry in the group's log; the member's row in the `members`
 * table records where it reads that log from (and to, once it left), and is the index behind
 * LIST {mine: true}. Group messages are in group-send.ts, epochs and key-shares in
 * group-keys.ts; both are re-exported here.
 */
import { ProtocolError } from '../../protocol/errors';
import {
  LIST_PAGE,
  type AddFrame,
  type AddReply,
  type GroupMemberWire,
  type GroupRemovalWire,
  type RemoveFrame,
  type RemoveReply,
  type CreateFrame,
  type JoinFrame,
  type JoinReply,
  type LeaveFrame,
  type LeaveReply,
  type ListFrame,
  type ListReply,
  type MembersFrame,
  type MembersReply,
} from '../../protocol/groups';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import type { GroupRecord } from '../stores/groups';
import { pushToUsers } from './delivery';
import { memberBundles, requireGroup, requireGroupMember } from './group-access';
import { freshArtefact, rosterState } from './group-roster';
import { fitInReply } from './reply-size';
import { requireUser } from './session';
import { live, membershipEvent, noticeId } from './stream-events';
import { assertWithinRate } from './throttle';

export { isGroupMember, requireGroupMember } from './group-access';
export {
  fanOutToGroup,
  sendGroup,
  type GroupFanOutInput,
  type GroupFanOutOptions,
  type GroupFanOutResult,
} from './group-send';
export { shareKey } from './group-keys';

/**
 * Writes a membership change into the group's log at the number its update took (the group as
 * the update left it), and pushes it live to `notify`. The member's row is written alongside.
 */
async function logMembership(
  deps: ServerDeps,
  context: RouteContext,
  kind: 'member-joined' | 'member-left',
  userId: string,
  group: GroupRecord,
  notify: readonly string[],
): Promise<number> {
  const now = deps.now();
  const entry = {
    kind,
    groupId: group.groupId,
    messageId: noticeId(kind, group.groupId, group.logSeq),
    userId,
    memberCount: group.memberCount,
    epoch: group.epoch,
    sentAt: now,
  };
  await Promise.all([
    deps.groupLog.putEntry(group.logSeq, entry, now),
    kind === 'member-joined'
      ? deps.memberships.putMembership(userId, group.groupId, group.logSeq, now)
      : deps.memberships.markLeft(userId, group.groupId, group.logSeq, now),
  ]);
  const event = live(membershipEvent({ ...entry, seq: group.logSeq }));
  return pushToUsers(deps, context, notify, event);
}

export async function createGroup(deps: ServerDeps, frame: CreateFrame, context: RouteContext) {
  const me = (await requireUser(deps, context)).userId;
  await assertWithinRate(deps, 'create', me, deps.now());
  const group = await deps.groups.create(frame.groupId, me, deps.now());
  if (!group)
    throw new ProtocolError(
      'CONFLICT',
      `Group "${frame.groupId}" exists already. JOIN it, or CREATE another name.`,
    );
  await logMembership(deps, context, 'member-joined', me, group, []);
  return { groupId: frame.groupId, created: true, epoch: 0, memberCount: 1 };
}

/**
 * The roster from user id `after` on, paged by bytes (a full group's bundles and statement pass
 * API Gateway's 128 KB per message): members with their published bundles (a pending addition
 * with its artefact), pending removals with theirs, admins, the closed flag, the current
 * statement.
 */
async function membersReply(
  deps: ServerDeps,
  group: GroupRecord,
  after?: string,
): Promise<MembersReply> {
  const state = rosterState(group);
  const inRange = (userId: string) => after === undefined || userId > after;
  const listed = group.memberIds.filter(inRange);
  const pendingAdds = state.pendingAdditions.filter(inRange);
  const pendingRemovals = state.pendingRemovals.filter(inRange);
  const [members, additions, departures, current] = await Promise.all([
    memberBundles(deps, listed),
    deps.groupEpochs.artefactsOf(group.groupId, 'addition', pendingAdds),
    deps.groupEpochs.artefactsOf(group.groupId, 'departure', pendingRemovals),
    group.epoch > 0 ? deps.groupEpochs.getEpoch(group.groupId, group.epoch) : undefined,
  ]);
  type Entry =
    | { readonly kind: 'member'; readonly wire: GroupMemberWire }
    | { readonly kind: 'removal'; readonly wire: GroupRemovalWire };
  const entries: Entry[] = [
    ...members.map((member): Entry => {
      const artefact = additions.get(member.userId)?.artefact;
      return { kind: 'member', wire: artefact ? { ...member, artefact } : member };
    }),
    ...pendingRemovals.flatMap((userId): Entry[] => {
      const artefact = departures.get(userId)?.artefact;
      return artefact ? [{ kind: 'removal', wire: { userId, artefact } }] : [];
    }),
  ].sort((a, b) => (a.wire.userId < b.wire.userId ? -1 : a.wire.userId > b.wire.userId ? 1 : 0));
  const fixed = {
    groupId: group.groupId,
    epoch: group.epoch,
    epochMembers: [...group.epochMembers],
    ...(current && { statement: current.statement }),
    memberCount: group.memberCount,
    admins: [...group.admins],
    closed: group.closed,
  };
  const page = fitInReply(
    entries.map((entry) => entry.wire),
    { ...fixed, created: false, joined: false, removals: [] },
  );
  const shown = entries.slice(0, page.length);
  return {
    ...fixed,
    members: shown.flatMap((e) => (e.kind === 'member' ? [e.wire] : [])),
    removals: shown.flatMap((e) => (e.kind === 'removal' ? [e.wire] : [])),
    ...(page.length < entries.length && { next: page.at(-1)!.userId }),
  };
}

/** Refuses a join or addition within the rejoin cool-down of the user's last departure. */
async function assertCooledDown(deps: ServerDeps, groupId: string, userId: string) {
  const departure = (await deps.groupEpochs.artefactsOf(groupId, 'departure', [userId])).get(
    userId,
  );
  const waitMs = departure
    ? departure.storedAt + deps.limits.groupRejoinCooldownMs - deps.now()
    : 0;
  if (waitMs > 0)
    throw new ProtocolError(
      'RATE_LIMITED',
      `${userId} left group "${groupId}" moments ago: joining again is possible in ${Math.ceil(waitMs / 1000)} s.`,
    );
}

/**
 * Joins with my signed join request, creating the group first when it does not exist. Exactly
 * one of two racing clients gets `created: true` (a conditional put); the other joins the same
 * group. The request is checked (signature against my published key, a time within minutes of
 * the server's clock) before the roster changes, and stays on the roster as my pending addition
 * until an epoch carries it.
 */
export async function joinGroup(
  deps: ServerDeps,
  frame: JoinFrame,
  context: RouteContext,
): Promise<JoinReply> {
  const me = (await requireUser(deps, context)).userId;
  await assertWithinRate(deps, 'join', me, deps.now());
  const existing = await deps.groups.get(frame.groupId);
  if (existing?.memberIds.includes(me)) {
    // Idempotent: repair the row in case a first attempt stopped before writing it (its
    // position is lost with that attempt, so the member reads on from the log's head).
    await deps.memberships.repairMembership(me, frame.groupId, existing.logSeq + 1, deps.now());
    return { ...(await membersReply(deps, existing)), created: false, joined: false };
  }
  await freshArtefact(deps, frame.request, {
    groupId: frame.groupId,
    kind: 'join',
    signer: me,
    subject: me,
  });
  if (existing?.closed)
    throw new ProtocolError(
      'FORBIDDEN',
      `Group "${frame.groupId}" is closed to joins: ask an admin to add you.`,
    );
  if (existing) await assertCooledDown(deps, frame.groupId, me);
  await deps.groupEpochs.putArtefact(frame.groupId, 'addition', me, frame.request, deps.now());
  const created = existing ? undefined : await deps.groups.create(frame.groupId, me, deps.now());
  if (created) {
    await logMembership(deps, context, 'member-joined', me, created, []);
    return { ...(await membersReply(deps, created)), created: true, joined: true };
  }
  return addToGroup(deps, context, frame.groupId, me);
}

async function addToGroup(
  deps: ServerDeps,
  context: RouteContext,
  groupId: string,
  userId: string,
): Promise<JoinReply> {
  const result = await deps.groups.addMember(groupId, userId, deps.limits.groupMemberCap);
  switch (result.outcome) {
    case 'missing':
      // Groups are never deleted, so this cannot follow a failed create; say so plainly anyway.
      throw new ProtocolError('NOT_FOUND', `Group "${groupId}" vanished; JOIN it again.`);
    case 'full':
      throw new ProtocolError(
        'CONFLICT',
        `Group "${groupId}" is full (${deps.limits.groupMemberCap} members). Ask a member to make room, or join another group.`,
      );
    case 'already-member':
      await deps.memberships.repairMembership(userId, groupId, result.group.logSeq + 1, deps.now());
      return { ...(await membersReply(deps, result.group)), created: false, joined: false };
    case 'joined': {
      const group = result.group;
      const others = group.memberIds.filter((id) => id !== userId);
      await logMembership(deps, context, 'member-joined', userId, group, others);
      return { ...(await membersReply(deps, group)), created: false, joined: true };
    }
  }
}

/** Takes `userId` off the roster with its leave or an admin's removal (already checked). */
async function dropFromGroup(
  deps: ServerDeps,
  context: RouteContext,
  groupId: string,
  userId: string,
  artefact: string,
) {
  await deps.groupEpochs.putArtefact(groupId, 'departure', userId, artefact, deps.now());
  const result = await deps.groups.removeMember(groupId, userId);
  if (result.outcome === 'missing')
    throw new ProtocolError('NOT_FOUND', `There is no group named "${groupId}".`);
  if (result.outcome !== 'left') return { left: false as const, group: result.group, notified: 0 };
  const { group } = result;
  // The removed user hears it too (its other devices may not know).
  const notify = [...group.memberIds, userId];
  const notified = await logMembership(deps, context, 'member-left', userId, group, notify);
  return { left: true as const, group, notified };
}

/** Leaves with my signed leave; the next epoch must carry it (a member rotates first). */
export async function leaveGroup(
  deps: ServerDeps,
  frame: LeaveFrame,
  context: RouteContext,
): Promise<LeaveReply> {
  const me = (await requireUser(deps, context)).userId;
  const group = await requireGroup(deps, frame.groupId);
  if (!group.memberIds.includes(me)) {
    // Left earlier (a retry): make sure the row says so; where the leave was is lost with the
    // attempt that did not write it, so nothing more of the log is read.
    await deps.memberships.markLeftUnknown(me, frame.groupId, deps.now());
    return { groupId: frame.groupId, left: false, memberCount: group.memberCount };
  }
  await freshArtefact(deps, frame.request, {
    groupId: frame.groupId,
    kind: 'leave',
    signer: me,
    subject: me,
  });
  const result = await dropFromGroup(deps, context, frame.groupId, me, frame.request);
  return {
    groupId: frame.groupId,
    left: result.left,
    memberCount: result.group.memberCount,
    ...(result.left && { notified: result.notified }),
  };
}

/** The group, if I am one of its admins (FORBIDDEN otherwise). */
async function requireAdmin(deps: ServerDeps, groupId: string, me: string) {
  const group = await requireGroupMember(deps, groupId, me);
  if (!group.admins.includes(me))
    throw new ProtocolError(
      'FORBIDDEN',
      `Only an admin of group "${groupId}" (${group.admins.join(', ')}) may do that.`,
    );
  return group;
}

/** An admin removes a member with its signed removal; the next epoch must carry it. */
export async function removeFromGroup(
  deps: ServerDeps,
  frame: RemoveFrame,
  context: RouteContext,
): Promise<RemoveReply> {
  const me = (await requireUser(deps, context)).userId;
  const group = await requireAdmin(deps, frame.groupId, me);
  if (frame.userId === me)
    throw new ProtocolError('BAD_REQUEST', 'To leave a group yourself, send `leave`.');
  if (!group.memberIds.includes(frame.userId))
    return { groupId: frame.groupId, removed: false, memberCount: group.memberCount };
  await freshArtefact(deps, frame.request, {
    groupId: frame.groupId,
    kind: 'admin-remove',
    signer: me,
    subject: frame.userId,
  });
  const result = await dropFromGroup(deps, context, frame.groupId, frame.userId, frame.request);
  return { groupId: frame.groupId, removed: result.left, memberCount: result.group.memberCount };
}

/** An admin adds a user with its signed addition (the only way into a group closed to joins). */
export async function addToGroupByAdmin(
  deps: ServerDeps,
  frame: AddFrame,
  context: RouteContext,
): Promise<AddReply> {
  const me = (await requireUser(deps, context)).userId;
  await assertWithinRate(deps, 'join', me, deps.now());
  const group = await requireAdmin(deps, frame.groupId, me);
  if (group.memberIds.includes(frame.userId))
    return { groupId: frame.groupId, added: false, memberCount: group.memberCount };
  if (!(await deps.users.get(frame.userId)))
    throw new ProtocolError('NOT_FOUND', `There is no user named "${frame.userId}".`);
  await freshArtefact(deps, frame.request, {
    groupId: frame.groupId,
    kind: 'admin-add',
    signer: me,
    subject: frame.userId,
  });
  await assertCooledDown(deps, frame.groupId, frame.userId);
  await deps.groupEpochs.putArtefact(
    frame.groupId,
    'addition',
    frame.userId,
    frame.request,
    deps.now(),
  );
  const reply = await addToGroup(deps, context, frame.groupId, frame.userId);
  return { groupId: frame.groupId, added: reply.joined, memberCount: reply.memberCount };
}

/** LIST: every group with its member count (a paginated Scan), or `mine` through the index. */
export async function listGroups(
  deps: ServerDeps,
  frame: ListFrame,
  context: RouteContext,
): Promise<ListReply> {
  const me = (await requireUser(deps, context)).userId;
  const limit = frame.limit ?? LIST_PAGE.default;
  if (!frame.mine) {
    const page = await deps.groups.listAll(limit, frame.cursor);
    return { groups: page.items, ...(page.next && { next: page.next }) };
  }
  const page = await deps.memberships.listMine(me, limit, frame.cursor);
  const counts = await deps.groups.counts(page.items);
  return {
    groups: page.items
      .filter((groupId) => counts.has(groupId))
      .map((groupId) => ({ groupId, memberCount: counts.get(groupId)! })),
    ...(page.next && { next: page.next }),
  };
}

/** The member list with each member's public key bundle, for members only. */
export async function groupMembers(
  deps: ServerDeps,
  frame: MembersFrame,
  context: RouteContext,
): Promise<MembersReply> {
  const me = (await requireUser(deps, context)).userId;
  return membersReply(deps, await requireGroupMember(deps, frame.groupId, me), frame.after);
}
