/**
 * The @connections management API of the local gateway:
 * POST|GET|DELETE /<stage>/@connections/{url-encoded connection id}, answered as API Gateway
 * answers, including the `x-amzn-ErrorType` header the AWS SDK needs to raise GoneException.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A connection as the endpoint sees it: what GET answers, and whether it is already closing. */
export interface ManagedConnection {
  readonly connectedAt: number;
  readonly sourceIp: string;
  readonly userAgent: string;
  readonly lastActiveAt: number;
  readonly closing: boolean;
}

/**
 * What the endpoint needs of the gateway, and no more: the gateway (./gateway.ts) implements it
 * and hands itself over, so the two meet here without importing each other.
 */
export interface ConnectionManager<C extends ManagedConnection> {
  readonly stage: string;
  /** A POST body past it is refused with 413, as API Gateway refuses it. */
  readonly maxMessageBytes: number;
  readonly connections: ReadonlyMap<string, C>;
  send(connection: C, data: string): void;
  close(connection: C, code: number, reason: string): void;
}

type ErrorType = 'GoneException' | 'ForbiddenException' | 'PayloadTooLargeException';

function sendError(
  response: ServerResponse,
  status: number,
  type: ErrorType,
  message: string,
): void {
  response.writeHead(status, { 'content-type': 'application/json', 'x-amzn-ErrorType': type });
  response.end(JSON.stringify({ message }));
}

/** Reads the body, giving up (and answering 413) past `limit` bytes. */
async function readBody(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export async function handleManagementRequest<C extends ManagedConnection>(
  gateway: ConnectionManager<C>,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const prefix = `/${gateway.stage}/@connections/`;
  const path = (request.url ?? '').split('?')[0] ?? '';
  if (!path.startsWith(prefix)) return sendError(response, 403, 'ForbiddenException', 'Forbidden');
  // The real endpoint demands SigV4; we do not verify the signature, but refuse unsigned calls.
  if (!String(request.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256')) {
    return sendError(response, 403, 'ForbiddenException', 'Missing Authentication Token');
  }
  const connectionId = decodeURIComponent(path.slice(prefix.length));
  const connection = gateway.connections.get(connectionId);

  switch (request.method ?? '') {
    case 'POST': {
      const body = await readBody(request, gateway.maxMessageBytes);
      if (body === undefined)
        return sendError(response, 413, 'PayloadTooLargeException', 'Message too long');
      if (!connection || connection.closing)
        return sendError(response, 410, 'GoneException', `Connection ${connectionId} is gone`);
      gateway.send(connection, body.toString('utf8'));
      response.writeHead(200).end();
      return;
    }
    case 'GET': {
      if (!connection || connection.closing)
        return sendError(response, 410, 'GoneException', `Connection ${connectionId} is gone`);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          connectedAt: new Date(connection.connectedAt).toISOString(),
          identity: { sourceIp: connection.sourceIp, userAgent: connection.userAgent },
          lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
        }),
      );
      return;
    }
    case 'DELETE': {
      if (!connection || connection.closing)
        return sendError(response, 410, 'GoneException', `Connection ${connectionId} is gone`);
      gateway.close(connection, 1000, 'Connection deleted');
      response.writeHead(204).end();
      return;
    }
    default:
      return sendError(response, 403, 'ForbiddenException', 'Forbidden');
  }
}
