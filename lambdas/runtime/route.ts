/**
 * What every WebSocket route's handler shares: the event and reply shapes, the route context a
 * core gets (who, where from, and how to push), and the one place a failure becomes a reply.
 * Expected failures (ProtocolError) become their stable code; anything else becomes INTERNAL
 * with no stack trace or detail shown to the user. ./command-handler.ts builds on it.
 */
import type { APIGatewayProxyWebsocketEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { ProtocolError } from '../../protocol/errors';
import { errorReply, type Reply } from '../../protocol/frames';
import type { ServerEvent } from '../../protocol/events';
import type { RouteKey } from '../../protocol/routes';
import type { UnboundCheck } from './delay-queue';
import type { Logger } from './log';
import { localAccessOf, type LocalFunctionAccess } from './env';
import {
  deleteConnection,
  managementClient,
  managementEndpoint,
  postToConnection,
} from './management-api';

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
  /** This invocation's logger: its lines carry the request id and the cold-start flag. */
  readonly log: Logger;
  /** Pushes an event to a connection (this one by default); false when it is gone. */
  push(event: ServerEvent, connectionId?: string): Promise<boolean>;
  /** Closes another connection now (one already gone is fine). */
  close(connectionId: string): Promise<void>;
  /**
   * Closes this connection once the reply is out: closing it now would lose the reply, so the
   * unbound-connection check (lambdas/background/reap-unbound.ts) closes it shortly after. The caller has
   * unbound it first. Only routes whose handler passes `scheduleClose` may.
   */
  closeAfterReply(): Promise<void>;
}

/** Schedules the unbound-connection check (./delay-queue.ts scheduleCloseAfterReply). */
export type ScheduleClose = (check: UnboundCheck, access?: LocalFunctionAccess) => Promise<void>;

const cannotClose: ScheduleClose = () =>
  Promise.reject(new Error('This route may not close its own connection (no scheduleClose)'));

/**
 * The core's view of this invocation; `lambdaContext` carries the local stack's grants, if any.
 * Only a handler that passes `scheduleClose` may close its own connection after the reply.
 */
export function routeContext(
  event: WebSocketEvent,
  log: Logger,
  lambdaContext?: object,
  scheduleClose: ScheduleClose = cannotClose,
): RouteContext {
  const { connectionId, requestId, domainName, stage, requestTimeEpoch } = event.requestContext;
  const endpoint = managementEndpoint(domainName, stage);
  const access = localAccessOf(lambdaContext);
  const client = managementClient(endpoint, access);
  const identity = (event.requestContext as { identity?: { sourceIp?: string } }).identity;
  return {
    connectionId,
    requestId,
    sourceIp: identity?.sourceIp ?? 'unknown',
    receivedAt: requestTimeEpoch,
    log,
    push: (pushed, target = connectionId) => postToConnection(endpoint, target, pushed, client),
    close: (target) => deleteConnection(target, client),
    closeAfterReply: () => scheduleClose({ connectionId, managementEndpoint: endpoint }, access),
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
  log: Logger,
  error: unknown,
  replyTo?: string,
): WebSocketResult {
  if (error instanceof ProtocolError)
    return replyResult(errorReply(error.code, error.message, replyTo));
  const failure = error instanceof Error ? error : new Error(String(error));
  log.error('route failed', {
    route,
    error: failure.name,
    detail: redactLongTokens(failure.message),
  });
  return replyResult(
    errorReply('INTERNAL', 'Something went wrong on our side. Please try again.', replyTo),
  );
}
