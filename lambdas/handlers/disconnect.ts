import { serverDeps } from '../runtime/deps';
import type { WebSocketHandler } from '../runtime/route';

/** The connection is gone: forget it, so nothing is pushed to it again. */
export const handler: WebSocketHandler = async (event, context) => {
  await serverDeps(context).connections.remove(event.requestContext.connectionId);
  return { statusCode: 200 };
};
