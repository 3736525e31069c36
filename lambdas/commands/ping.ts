import { PingFrame } from '../../protocol/frames';
import { commandHandler } from '../runtime/command-handler';
import { requireUser } from '../shared/sessions';

/** Liveness check for a signed-in connection: answers and pushes a `pong` through @connections. */
export const handler = commandHandler('ping', PingFrame, async (deps, frame, context) => {
  await requireUser(deps, context);
  const serverTime = Date.now();
  await context.push(
    frame.echo === undefined
      ? { type: 'pong', serverTime }
      : { type: 'pong', echo: frame.echo, serverTime },
  );
  return { serverTime };
});
