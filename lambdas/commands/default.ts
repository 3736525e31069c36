import { ProtocolError } from '../../protocol/errors';
import { frameIdOf, parseJson } from '../../protocol/frames';
import { COMMAND_ROUTES } from '../../protocol/routes';
import { coldStarts, requestLog } from '../runtime/log';
import { failureReply, type WebSocketHandler } from '../runtime/route';

const isColdStart = coldStarts();

/** API Gateway sends here every frame whose `action` matches no route (or that is not JSON). */
export const handler: WebSocketHandler = async (event) => {
  let replyTo: string | undefined;
  try {
    const raw = parseJson(event.body ?? '');
    replyTo = frameIdOf(raw);
    const action =
      typeof raw === 'object' && raw !== null ? (raw as { action?: unknown }).action : undefined;
    const known = COMMAND_ROUTES.join(', ');
    throw new ProtocolError(
      'BAD_REQUEST',
      typeof action === 'string'
        ? `Unknown action "${action.slice(0, 40)}". Known actions: ${known}.`
        : `Every frame needs an "action" field, one of: ${known}.`,
    );
  } catch (error) {
    return failureReply(
      '$default',
      requestLog(event.requestContext.requestId, isColdStart()),
      error,
      replyTo,
    );
  }
};
