/**
 * Groups: create, join (creating when missing), leave, list, members. Membership and its count
 * live in the group item and change only by conditional updates; the `members` table is the
 * per-user index behind LIST {mine: true}. Group messages are in group-send.ts, epochs and
 * key-shares in group-keys.ts; both are re-exported here.
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
import { memberBundles, notifyMembers, requireGroup, requireGroupMember } from './group-access';
import { fitInReply } from './reply-size';
import { requireUser } from './session';
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

export async function createGroup(deps: ServerDeps, frame: CreateFrame, context: RouteContext) {
  const me = (await requireUser(deps, context)).userId;
  await assertWithinRate(deps, 'create', me, deps.now());
  const now = deps.now();
  if (!(await deps.groups.create(frame.groupId, me, now)))
    throw new ProtocolError(
      'CONFLICT',
      `Group "${frame.groupId}" exists already. JOIN it, or CREATE another name.`,
    );
  await deps.groups.putMembership(me, frame.groupId, now);
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
  const now = deps.now();
  if (await deps.groups.create(frame.groupId, me, now)) {
    await deps.groups.putMembership(me, frame.groupId, now);
    const group = await requireGroup(deps, frame.groupId);
    return { ...(await membersReply(deps, group)), created: true, joined: true };
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
      // Idempotent: repair the index in case a first attempt stopped before writing it.
      await deps.groups.putMembership(me, frame.groupId, now);
      return { ...(await membersReply(deps, result.group)), created: false, joined: false };
    case 'joined': {
      await deps.groups.putMembership(me, frame.groupId, now);
      const group = result.group;
      await notifyMembers(
        deps,
        context,
        group.memberIds.filter((userId) => userId !== me),
        {
          type: 'member-joined',
          groupId: group.groupId,
          userId: me,
          memberCount: group.memberCount,
          epoch: group.epoch,
        },
      );
      return { ...(await membersReply(deps, group)), created: false, joined: true };
    }
  }
}

export async function leaveGroup(deps: ServerDeps, frame: LeaveFrame, context: RouteContext) {
  const me = (await requireUser(deps, context)).userId;
  const result = await deps.groups.removeMember(frame.groupId, me);
  if (result.outcome === 'missing')
    throw new ProtocolError('NOT_FOUND', `There is no group named "${frame.groupId}".`);
  // Left now, or earlier (a retry): either way the index row goes.
  await deps.groups.deleteMembership(me, frame.groupId);
  if (result.outcome !== 'left')
    return { groupId: frame.groupId, left: false, memberCount: result.group.memberCount };
  const { group } = result;
  const notified = await notifyMembers(deps, context, group.memberIds, {
    type: 'member-left',
    groupId: group.groupId,
    userId: me,
    memberCount: group.memberCount,
    epoch: group.epoch,
  });
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
