/** `create`: a new group with its creator as the only member; the creator's join is log entry 1. */
import { ProtocolError } from '../../protocol/errors';
import { CreateFrame, type CreateReply } from '../../protocol/groups';
import { commandHandler } from '../runtime/command-handler';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import { logMembership } from '../shared/group-membership';
import { assertWithinRate } from '../shared/rate-limits';
import { requireUser } from '../shared/sessions';

export async function createGroup(
  deps: ServerDeps,
  frame: CreateFrame,
  context: RouteContext,
): Promise<CreateReply> {
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

export const handler = commandHandler('create', CreateFrame, createGroup);
