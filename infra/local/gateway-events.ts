/**
 * API Gateway WebSocket event shapes, as the real service hands them to Lambda
 * (AWS docs: "API Gateway WebSocket API event format for Lambda").
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Context } from 'aws-lambda';

export interface ConnectionInfo {
  readonly connectionId: string;
  readonly connectedAt: number;
  readonly sourceIp: string;
  readonly userAgent: string;
}

export interface EventSite {
  readonly apiId: string;
  readonly stage: string;
  readonly domainName: string;
}

/** Real connection ids look like "L0SM9cOFvHcCIhw=": base64, so they need URL-encoding in @connections paths. */
export const newConnectionId = (): string => randomBytes(11).toString('base64');

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** API Gateway's CLF-style `requestTime`, e.g. "28/Nov/2026:12:29:00 +0000". */
function requestTime(epochMs: number): string {
  const d = new Date(epochMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

function baseRequestContext(
  site: EventSite,
  connection: ConnectionInfo,
  routeKey: string,
  eventType: string,
) {
  const now = Date.now();
  const requestId = randomBytes(12).toString('base64url');
  return {
    routeKey,
    eventType,
    extendedRequestId: requestId,
    requestTime: requestTime(now),
    messageDirection: 'IN' as const,
    stage: site.stage,
    connectedAt: connection.connectedAt,
    requestTimeEpoch: now,
    identity: { sourceIp: connection.sourceIp, userAgent: connection.userAgent },
    requestId,
    domainName: site.domainName,
    connectionId: connection.connectionId,
    apiId: site.apiId,
  };
}

function headersOf(request: IncomingMessage) {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    headers[name] = values.join(',');
    multiValueHeaders[name] = values;
  }
  return { headers, multiValueHeaders };
}

function queryOf(url: URL) {
  if ([...url.searchParams.keys()].length === 0) return {};
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [key, value] of url.searchParams) {
    single[key] = value;
    (multi[key] ??= []).push(value);
  }
  return { queryStringParameters: single, multiValueQueryStringParameters: multi };
}

export function connectEvent(
  site: EventSite,
  connection: ConnectionInfo,
  request: IncomingMessage,
  url: URL,
) {
  return {
    ...headersOf(request),
    ...queryOf(url),
    requestContext: baseRequestContext(site, connection, '$connect', 'CONNECT'),
    isBase64Encoded: false,
  };
}

export function messageEvent(
  site: EventSite,
  connection: ConnectionInfo,
  routeKey: string,
  body: string,
) {
  return {
    requestContext: {
      ...baseRequestContext(site, connection, routeKey, 'MESSAGE'),
      messageId: randomBytes(12).toString('base64url'),
    },
    body,
    isBase64Encoded: false,
  };
}

export function disconnectEvent(
  site: EventSite,
  connection: ConnectionInfo,
  statusCode: number,
  reason: string,
) {
  return {
    headers: {},
    multiValueHeaders: {},
    requestContext: {
      ...baseRequestContext(site, connection, '$disconnect', 'DISCONNECT'),
      disconnectStatusCode: statusCode,
      disconnectReason: reason,
    },
    isBase64Encoded: false,
  };
}

/** API Gateway's integration timeout: a route's Lambda answer counts only within 29 s. */
export const INTEGRATION_TIMEOUT_MS = 29_000;

export function lambdaContext(functionName: string): Context {
  const deadline = Date.now() + INTEGRATION_TIMEOUT_MS;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
