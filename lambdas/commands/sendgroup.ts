/** `sendgroup`: a group message, stored once in the group's log, then pushed (shared/group-fan-out.ts). */
import { SendGroupFrame } from '../../protocol/groups';
import { commandHandler } from '../runtime/command-handler';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import { fanOutToGroup, sendGroupReply } from '../shared/group-fan-out';
import { assertWithinRate } from '../shared/rate-limits';
import { requireUser } from '../shared/sessions';

export async function sendGroup(deps: ServerDeps, frame: SendGroupFrame, context: RouteContext) {
  const sender = await requireUser(deps, context);
  const result = await fanOutToGroup(
    deps,
    context,
    {
      groupId: frame.groupId,
      epoch: frame.epoch,
      from: sender.userId,
      messageId: frame.messageId,
      envelope: frame.envelope,
    },
    { alongside: () => assertWithinRate(deps, 'send', sender.userId, deps.now()) },
  );
  return sendGroupReply(result);
}

export const handler = commandHandler('sendgroup', SendGroupFrame, sendGroup);
