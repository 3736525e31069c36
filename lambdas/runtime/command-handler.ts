/**
 * Turns a pure route core into a Lambda handler for an API Gateway WebSocket route: parse the
 * body with the route's schema, call the core with this function's stores, answer with exactly
 * one reply frame (./route.ts turns failures into their stable codes). Apart from ./route.ts so
 * that $default, which needs no stores, does not bundle the DynamoDB and S3 clients.
 */
import type { z } from 'zod';
import { frameIdOf, ok, parseJson, parseWith } from '../../protocol/frames';
import type { RouteKey } from '../../protocol/routes';
import { serverDeps, type ServerDeps } from './deps';
import {
  failureReply,
  replyResult,
  routeContext,
  type RouteContext,
  type WebSocketHandler,
} from './route';

export function commandHandler<S extends z.ZodType<{ id: string }>>(
  route: RouteKey,
  schema: S,
  core: (deps: ServerDeps, frame: z.infer<S>, context: RouteContext) => Promise<object>,
): WebSocketHandler {
  return async (event, lambdaContext) => {
    let replyTo: string | undefined;
    try {
      const raw = parseJson(event.body ?? '');
      replyTo = frameIdOf(raw);
      const frame = parseWith(schema, raw);
      const body = await core(serverDeps(lambdaContext), frame, routeContext(event, lambdaContext));
      return replyResult(ok(frame.id, body));
    } catch (error) {
      return failureReply(route, event, error, replyTo);
    }
  };
}
