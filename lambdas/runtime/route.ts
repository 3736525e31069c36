/**
 * What every WebSocket route's handler shares: the event and reply shapes, the route context a
 * core gets (who, where from, and how to push), and the one place a failure becomes a reply.
 * Expected failures (ProtocolError) become their stable code; anything else becomes INTERNAL
 * with no stack trace or detail shown to the user. ./command-handler.ts builds on it.
 */
import type { APIGatewayProxyWebsocketEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { ProtocolError } from '../../protocol/errors';
import { errorReply, type Reply, type ServerEvent } from '../../protocol/frames';
import type { RouteKey } from '../../protocol/routes';
import { log } from './log';
import { localAccessOf } from './env';
import { managementClient, managementEndpoint, postToConnection } from './management-api';

export type WebSocketEvent = APIGatewayProxyWebsocketEventV2;
export type WebSocketResult = APIGatewayProxyResultV2;
export type WebSocketHandler = (
  event: WebSocketEvent,
  context?: Context,
) => Promise<WebSocketResult>;

export interface RouteContext {
  readonly connectionId: string;
  readonly requestId: string;
  /** The client's address as API Gateway saw it (for per-address sign-in back-off). */
  readonly sourceIp: string;
  /** When API Gateway received the frame (ms since epoch). */
  readonly receivedAt: number;
  /** Pushes an event to a connection (this one by default); false when it is gone. */
  push(event: ServerEvent, connectionId?: string): Promise<boolean>;
}

/** The core's view of this invocation; `lambdaContext` carries the local stack's grants, if any. */
export function routeContext(event: WebSocketEvent, lambdaContext?: object): RouteContext {
  const { connectionId, requestId, domainName, stage, requestTimeEpoch } = event.requestContext;
  const endpoint = managementEndpoint(domainName, stage);
  const client = managementClient(endpoint, localAccessOf(lambdaContext));
  const identity = (event.requestContext as { identity?: { sourceIp?: string } }).identity;
  return {
    connectionId,
    requestId,
    sourceIp: identity?.sourceIp ?? 'unknown',
    receivedAt: requestTimeEpoch,
    push: (pushed, target = connectionId) => postToConnection(endpoint, target, pushed, client),
  };
}

export const replyResult = (reply: Reply): WebSocketResult => ({
  statusCode: 200,
  body: JSON.stringify(reply),
});

/**
 * An SDK error message can quote a value it refused; a long base64 run there could be an
 * envelope, a key or a token, so it never reaches the log.
 */
export const redactLongTokens = (text: string): string =>
  text.slice(0, 500).replace(/[A-Za-z0-9+/_-]{24,}={0,2}/g, '[redacted]');

/** The one place a failure turns into an error frame. */
export function failureReply(
  route: RouteKey,
  event: WebSocketEvent,
  error: unknown,
  replyTo?: string,
): WebSocketResult {
  if (error instanceof ProtocolError)
    return replyResult(errorReply(error.code, error.message, replyTo));
  const failure = error instanceof Error ? error : new Error(String(error));
  log.error('route failed', {
    route,
    requestId: event.requestContext.requestId,
    error: failure.name,
    detail: redactLongTokens(failure.message),
  });
  return replyResult(
    errorReply('INTERNAL', 'Something went wrong on our side. Please try again.', replyTo),
  );
}
