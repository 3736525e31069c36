/**
 * Turns a pure route core into a Lambda handler for an API Gateway WebSocket route: parse the
 * body with the route's schema, call the core with this function's stores, answer with exactly
 * one reply frame (./route.ts turns failures into their stable codes). Apart from ./route.ts so
 * that $default, which needs no stores, does not bundle the DynamoDB and S3 clients.
 */
import type { z } from 'zod';
import { errorReply, frameIdOf, ok, parseJson, parseWith } from '../../protocol/frames';
import { WS_LIMITS } from '../../protocol/limits';
import type { CommandReplies } from '../../protocol/replies';
import type { CommandRoute } from '../../protocol/routes';
import { serverDeps, type DeviceCredentialKeyReader, type ServerDeps } from './deps';
import { coldStarts, requestLog } from './log';
import {
  failureReply,
  replyResult,
  routeContext,
  type RouteContext,
  type ScheduleClose,
  type WebSocketHandler,
} from './route';

export function commandHandler<R extends CommandRoute, S extends z.ZodType<{ id: string }>>(
  route: R,
  schema: S,
  /** The route's logic; it answers the route's reply type from protocol/replies.ts. */
  core: (deps: ServerDeps, frame: z.infer<S>, context: RouteContext) => Promise<CommandReplies[R]>,
  /**
   * What only some routes need, passed by their handler so that no other bundles the SDK client
   * behind it: closing their own connection (SQS), the device-credential key (Secrets Manager).
   */
  options: { scheduleClose?: ScheduleClose; deviceCredentialKey?: DeviceCredentialKeyReader } = {},
): WebSocketHandler {
  const isColdStart = coldStarts();
  return async (event, lambdaContext) => {
    const log = requestLog(event.requestContext.requestId, isColdStart());
    let replyTo: string | undefined;
    try {
      const raw = parseJson(event.body ?? '');
      replyTo = frameIdOf(raw);
      const frame = parseWith(schema, raw);
      const context = routeContext(event, log, lambdaContext, options.scheduleClose);
      const deps = serverDeps(lambdaContext, options.deviceCredentialKey);
      const body = await core(deps, frame, context);
      const reply = ok(frame.id, body);
      // API Gateway would not deliver it (docs/local-cloud.md): an error beats a reply that never comes.
      const bytes = Buffer.byteLength(JSON.stringify(reply));
      if (bytes <= WS_LIMITS.maxMessageBytes) return replyResult(reply);
      log.error('reply too large', { route, bytes });
      return replyResult(
        errorReply(
          'INTERNAL',
          'The answer was too large to send. Please try again later.',
          frame.id,
        ),
      );
    } catch (error) {
      return failureReply(route, log, error, replyTo);
    }
  };
}
