/**
 * What the membership commands (create, join, leave, remove, add, members) share. Membership and
 * its count live in the group item and change only by conditional updates, each taking the number
 * of its `member-joined` / `member-left` entry in the group's log; the member's row in the
 * `members` table records where it reads that log from (and to, once it left), and is the index
 * behind LIST {mine: true}.
 */
import { ProtocolError } from '../../protocol/errors';
import type {
  GroupMemberWire,
  GroupRemovalWire,
  JoinReply,
  MembersReply,
} from '../../protocol/groups';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import type { GroupRecord } from '../stores/groups';
import { pushToUsers } from './delivery';
import { memberBundles, requireGroupMember } from './group-access';
import { rosterState } from './group-roster';
import { fitInReply } from './reply-size';
import { live, membershipEvent, noticeId } from './stream-events';

/**
 * Writes a membership change into the group's log at the number its update took (the group as
 * the update left it), and pushes it live to `notify`. The member's row is written alongside.
 */
export async function logMembership(
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

/**
 * The roster from user id `after` on, paged by bytes (a full group's bundles and statement pass
 * API Gateway's 128 KB per message): members with their published bundles (a pending addition
 * with its artefact), pending removals with theirs, admins, the closed flag, the current
 * statement.
 */
export async function membersReply(
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
export async function assertCooledDown(deps: ServerDeps, groupId: string, userId: string) {
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

export async function addToGroup(
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
export async function dropFromGroup(
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

/** The group, if I am one of its admins (FORBIDDEN otherwise). */
export async function requireAdmin(deps: ServerDeps, groupId: string, me: string) {
  const group = await requireGroupMember(deps, groupId, me);
  if (!group.admins.includes(me))
    throw new ProtocolError(
      'FORBIDDEN',
      `Only an admin of group "${groupId}" (${group.admins.join(', ')}) may do that.`,
    );
  return group;
}
