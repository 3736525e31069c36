/** Who may touch a group: lookups (consistent reads), the member cap, member bundles. */
import { ProtocolError } from '../../protocol/errors';
import type { GroupMemberWire } from '../../protocol/groups';
import type { ServerDeps } from '../runtime/deps';
import type { GroupRecord } from '../stores/groups';

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
  const bundles = await deps.users.bundlesOf(memberIds);
  return memberIds.map((userId) => {
    const bundle = bundles.get(userId);
    return bundle ? { userId, bundle } : { userId };
  });
}
