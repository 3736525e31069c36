/** `leave` with a signed leave; the next epoch must carry it (a member rotates first). */
import { LeaveFrame, type LeaveReply } from '../../protocol/groups';
import { commandHandler } from '../runtime/command-handler';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import { requireGroup } from '../shared/group-access';
import { dropFromGroup } from '../shared/group-membership';
import { freshArtefact } from '../shared/group-roster';
import { requireUser } from '../shared/sessions';

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

export const handler = commandHandler('leave', LeaveFrame, leaveGroup);
