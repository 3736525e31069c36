import { PingFrame } from '../../protocol/frames';
import { commandHandler } from '../runtime/command-handler';
import { pushToConnection } from '../shared/delivery';
import { requireUser } from '../shared/sessions';

/**
 * Liveness check for a signed-in connection: answers and pushes a `pong` through @connections (a
 * push that fails is logged, as every push: lambdas/shared/delivery.ts pushToConnection).
 */
export const handler = commandHandler('ping', PingFrame, async (deps, frame, context) => {
  const me = await requireUser(deps, context);
  const serverTime = deps.now();
  await pushToConnection(
    deps,
    context,
    me,
    frame.echo === undefined
      ? { type: 'pong', serverTime }
      : { type: 'pong', echo: frame.echo, serverTime },
  );
  return { serverTime };
});
