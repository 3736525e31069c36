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
  type CreateFrame,
  type JoinFrame,
  type JoinReply,
  type LeaveFrame,
  type ListFrame,
  type ListReply,
  type MembersFrame,
  type MembersReply,
} from '../../protocol/groups';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import type { GroupRecord } from '../stores/group-ports';
import { pushToUsers } from './delivery';
import { memberBundles, requireGroupMember } from './group-access';
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
      ? deps.groups.putMembership(userId, group.groupId, group.logSeq, now)
      : deps.groups.markLeft(userId, group.groupId, group.logSeq, now),
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
 * The member list with each member's published key bundle, from user id `after` on, paged by
 * bytes (a full group's bundles and statement pass API Gateway's 128 KB per message).
 */
async function membersReply(
  deps: ServerDeps,
  group: GroupRecord,
  after?: string,
): Promise<MembersReply> {
  const listed = group.memberIds.filter((userId) => after === undefined || userId > after);
  const [members, current] = await Promise.all([
    memberBundles(deps, listed),
    group.epoch > 0 ? deps.groups.getEpoch(group.groupId, group.epoch) : undefined,
  ]);
  const fixed = {
    groupId: group.groupId,
    epoch: group.epoch,
    epochMembers: [...group.epochMembers],
    ...(current && { statement: current.statement }),
    memberCount: group.memberCount,
  };
  const page = fitInReply(members, { ...fixed, created: false, joined: false });
  return {
    ...fixed,
    members: page,
    ...(page.length < members.length && { next: page.at(-1)!.userId }),
  };
}

/**
 * Joins, creating the group first when it does not exist. Exactly one of two racing clients
 * gets `created: true` (a conditional put); the other joins the same group.
 */
export async function joinGroup(
  deps: ServerDeps,
  frame: JoinFrame,
  context: RouteContext,
): Promise<JoinReply> {
  const me = (await requireUser(deps, context)).userId;
  await assertWithinRate(deps, 'join', me, deps.now());
  const created = await deps.groups.create(frame.groupId, me, deps.now());
  if (created) {
    await logMembership(deps, context, 'member-joined', me, created, []);
    return { ...(await membersReply(deps, created)), created: true, joined: true };
  }
  const result = await deps.groups.addMember(frame.groupId, me, deps.limits.groupMemberCap);
  switch (result.outcome) {
    case 'missing':
      // Groups are never deleted, so this cannot follow a failed create; say so plainly anyway.
      throw new ProtocolError('NOT_FOUND', `Group "${frame.groupId}" vanished; JOIN it again.`);
    case 'full':
      throw new ProtocolError(
        'CONFLICT',
        `Group "${frame.groupId}" is full (${deps.limits.groupMemberCap} members). Ask a member to make room, or join another group.`,
      );
    case 'already-member':
      // Idempotent: repair the row in case a first attempt stopped before writing it (its
      // position is lost with that attempt, so the member reads on from the log's head).
      await deps.groups.repairMembership(me, frame.groupId, result.group.logSeq + 1, deps.now());
      return { ...(await membersReply(deps, result.group)), created: false, joined: false };
    case 'joined': {
      const group = result.group;
      const others = group.memberIds.filter((userId) => userId !== me);
      await logMembership(deps, context, 'member-joined', me, group, others);
      return { ...(await membersReply(deps, group)), created: false, joined: true };
    }
  }
}

export async function leaveGroup(deps: ServerDeps, frame: LeaveFrame, context: RouteContext) {
  const me = (await requireUser(deps, context)).userId;
  const result = await deps.groups.removeMember(frame.groupId, me);
  if (result.outcome === 'missing')
    throw new ProtocolError('NOT_FOUND', `There is no group named "${frame.groupId}".`);
  if (result.outcome !== 'left') {
    // Left earlier (a retry): make sure the row says so; where the leave was is lost with the
    // attempt that did not write it, so nothing more of the log is read.
    await deps.groups.markLeftUnknown(me, frame.groupId, deps.now());
    return { groupId: frame.groupId, left: false, memberCount: result.group.memberCount };
  }
  const { group } = result;
  const notified = await logMembership(deps, context, 'member-left', me, group, group.memberIds);
  return { groupId: group.groupId, left: true, memberCount: group.memberCount, notified };
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
  const page = await deps.groups.listMine(me, limit, frame.cursor);
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
