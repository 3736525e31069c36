/** `members`: the roster with each member's public key bundle, paged by bytes, for members only. */
import { MembersFrame, type MembersReply } from '../../protocol/groups';
import { commandHandler } from '../runtime/command-handler';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import { requireGroupMember } from '../shared/group-access';
import { membersReply } from '../shared/group-membership';
import { requireUser } from '../shared/sessions';

/** The member list with each member's public key bundle, for members only. */
export async function groupMembers(
  deps: ServerDeps,
  frame: MembersFrame,
  context: RouteContext,
): Promise<MembersReply> {
  const me = (await requireUser(deps, context)).userId;
  return membersReply(deps, await requireGroupMember(deps, frame.groupId, me), frame.after);
}

export const handler = commandHandler('members', MembersFrame, groupMembers);
