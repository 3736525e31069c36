/** `remove`: an admin removes a member with its signed removal. */
import { ProtocolError } from '../../protocol/errors';
import { RemoveFrame, type RemoveReply } from '../../protocol/groups';
import { commandHandler } from '../runtime/command-handler';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import { dropFromGroup, requireAdmin } from '../shared/group-membership';
import { freshArtefact } from '../shared/group-roster';
import { requireUser } from '../shared/sessions';

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

export const handler = commandHandler('remove', RemoveFrame, removeFromGroup);
