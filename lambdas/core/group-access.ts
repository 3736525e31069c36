/** Who may touch a group: lookups (consistent reads), the member cap, member bundles, notices. */
import { ProtocolError } from '../../protocol/errors';
import type { ServerEvent } from '../../protocol/frames';
import type { GroupMemberWire } from '../../protocol/groups';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import type { GroupRecord } from '../stores/group-ports';
import { pushToUser } from './delivery';
import { FAN_OUT_CONCURRENCY, mapWithPool } from './group-pool';

export async function requireGroup(deps: ServerDeps, groupId: string): Promise<GroupRecord> {
  const group = await deps.groups.get(groupId);
  if (!group)
    throw new ProtocolError(
      'NOT_FOUND',
      `There is no group named "${groupId}". Check the name, or JOIN it to create it.`,
    );
  return group;
}

/** The group, if `userId` is a member: NOT_FOUND for no such group, FORBIDDEN for a non-member. */
export async function requireGroupMember(
  deps: ServerDeps,
  groupId: string,
  userId: string,
): Promise<GroupRecord> {
  const group = await requireGroup(deps, groupId);
  if (!group.memberIds.includes(userId))
    throw new ProtocolError(
      'FORBIDDEN',
      `You are not a member of group "${groupId}". JOIN it first.`,
    );
  return group;
}

export async function isGroupMember(
  deps: ServerDeps,
  groupId: string,
  userId: string,
): Promise<boolean> {
  const group = await deps.groups.get(groupId);
  return group?.memberIds.includes(userId) ?? false;
}

/** Each member with its published public key bundle (none until the user publishes one). */
export async function memberBundles(
  deps: ServerDeps,
  memberIds: readonly string[],
): Promise<GroupMemberWire[]> {
  return mapWithPool(memberIds, FAN_OUT_CONCURRENCY, async (userId) => {
    const user = await deps.users.get(userId);
    return user?.bundle ? { userId, bundle: user.bundle } : { userId };
  });
}

/** Pushes a live notice to every listed member's connections, a bounded pool at a time; returns how many got it. */
export async function notifyMembers(
  deps: ServerDeps,
  context: RouteContext,
  memberIds: readonly string[],
  event: ServerEvent,
): Promise<number> {
  const counts = await mapWithPool(memberIds, FAN_OUT_CONCURRENCY, (userId) =>
    // A push that still fails after its retries must not fail the others: what matters is stored.
    pushToUser(deps, context, userId, event).catch(() => 0),
  );
  return counts.reduce((sum, count) => sum + count, 0);
}
