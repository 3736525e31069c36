import { serverDeps } from '../runtime/deps';
import type { WebSocketHandler } from '../runtime/route';
import { connectionClosed } from '../shared/sessions';

/** The connection is gone: out of its user's mailbox and unbound, so nothing is pushed to it again. */
export const handler: WebSocketHandler = async (event, context) => {
  await connectionClosed(serverDeps(context), event.requestContext.connectionId);
  return { statusCode: 200 };
};
