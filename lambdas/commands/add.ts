/** `add`: an admin adds a user with its signed addition (the only way into a closed group). */
import { ProtocolError } from '../../protocol/errors';
import { AddFrame, type AddReply } from '../../protocol/groups';
import { commandHandler } from '../runtime/command-handler';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import { addToGroup, assertCooledDown, requireAdmin } from '../shared/group-membership';
import { freshArtefact } from '../shared/group-roster';
import { assertWithinRate } from '../shared/rate-limits';
import { requireUser } from '../shared/sessions';

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

export const handler = commandHandler('add', AddFrame, addToGroupByAdmin);
