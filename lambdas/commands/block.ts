/**
 * `block`: the server drops a blocked user's 1:1 messages and files to the blocker without a
 * word to the sender (lambdas/shared/delivery.ts). The list lives in the blocker's user item, which `send`
 * reads anyway, so checking it costs no extra request.
 */
import { ProtocolError } from '../../protocol/errors';
import { BlockFrame, type BlockReply } from '../../protocol/sessions';
import { commandHandler } from '../runtime/command-handler';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import { assertWithinRate } from '../shared/rate-limits';
import { requireUser } from '../shared/sessions';
import { missingCase } from '../../protocol/missing-case';

/** Block lists are part of the user item: this bounds its size (400 KB for a DynamoDB item). */
export const MAX_BLOCKED_USERS = 1000;

export async function block(
  deps: ServerDeps,
  frame: BlockFrame,
  context: RouteContext,
): Promise<BlockReply> {
  const me = (await requireUser(deps, context)).userId;
  switch (frame.op) {
    case 'add': {
      await assertWithinRate(deps, 'block', me, deps.now());
      if (frame.userId === me) throw new ProtocolError('BAD_REQUEST', 'You cannot block yourself.');
      if (!(await deps.users.get(frame.userId)))
        throw new ProtocolError('NOT_FOUND', `There is no user named "${frame.userId}".`);
      if (!(await deps.users.block(me, frame.userId, MAX_BLOCKED_USERS)))
        throw new ProtocolError(
          'CONFLICT',
          `You block ${MAX_BLOCKED_USERS} users already: unblock someone first.`,
        );
      break;
    }
    case 'remove':
      await assertWithinRate(deps, 'block', me, deps.now());
      await deps.users.unblock(me, frame.userId);
      break;
    case 'list':
      break;
    default: {
      return missingCase(
        frame,
        new ProtocolError('BAD_REQUEST', `Unknown block operation ${String(frame)}.`),
      );
    }
  }
  return { blocked: [...((await deps.users.get(me))?.blocked ?? [])] };
}

export const handler = commandHandler('block', BlockFrame, block);
