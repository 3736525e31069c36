import { PingFrame } from '../../protocol/frames';
import { commandHandler } from '../runtime/route';

/** Liveness check: answers the frame and pushes a `pong` back through the management API. */
export const handler = commandHandler('ping', PingFrame, async (frame, context) => {
  const serverTime = Date.now();
  await context.push(
    frame.echo === undefined
      ? { type: 'pong', serverTime }
      : { type: 'pong', echo: frame.echo, serverTime },
  );
  return { serverTime };
});
