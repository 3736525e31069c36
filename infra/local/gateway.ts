/**
 * A local API Gateway WebSocket API that behaves like the real one, so the very same Lambda
 * handlers and the real @aws-sdk/client-apigatewaymanagementapi run on one machine:
 * $connect/$disconnect/$default, route selection on `action`, API Gateway-shaped events, route
 * responses, the @connections management endpoint, and the service's size and time limits.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Context } from 'aws-lambda';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { WS_LIMITS } from '../../protocol/limits';
import { FrameSniffer } from './frame-sniffer';
import {
  connectEvent,
  disconnectEvent,
  lambdaContext,
  messageEvent,
  newConnectionId,
  type ConnectionInfo,
  type EventSite,
} from './gateway-events';
import { handleManagementRequest } from './management-endpoint';

/** Any Lambda handler; the gateway hands it the event shape of its route. */
export type LambdaHandler = (event: never, context: Context) => Promise<unknown>;

export type GatewayLimits = { -readonly [K in keyof typeof WS_LIMITS]: number };

export interface LocalGatewayOptions {
  /** Route key ($connect, $disconnect, $default or an action) to its handler. */
  readonly handlers: ReadonlyMap<string, LambdaHandler>;
  readonly port?: number;
  readonly host?: string;
  readonly stage?: string;
  /** Shorter limits for tests; defaults are the real service's. */
  readonly limits?: Partial<GatewayLimits>;
  /** One line per routed frame (route, status, ms); never the body. */
  readonly onLog?: (line: string) => void;
  /** Tests choose connection ids (e.g. with "/" and "+") to prove URL-encoding works. */
  readonly newConnectionId?: () => string;
}

export interface LiveConnection extends ConnectionInfo {
  readonly socket: WebSocket;
  lastActiveAt: number;
  closing: boolean;
  idleTimer?: NodeJS.Timeout;
  lifetimeTimer?: NodeJS.Timeout;
}

const GOING_AWAY = 1001;

export class LocalGateway {
  readonly connections = new Map<string, LiveConnection>();
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly pending = new Set<Promise<unknown>>();
  private readonly limits: GatewayLimits;
  private site!: EventSite;

  private constructor(
    private readonly options: LocalGatewayOptions,
    private readonly server: Server,
  ) {
    this.limits = { ...WS_LIMITS, ...options.limits };
    // A backstop only: the frame sniffer closes first, as API Gateway does ('Message too big').
    this.wss.options.maxPayload = this.limits.maxMessageBytes;
  }

  static async start(options: LocalGatewayOptions): Promise<LocalGateway> {
    const server = createServer();
    const gateway = new LocalGateway(options, server);
    server.on(
      'request',
      (request, response) => void handleManagementRequest(gateway, request, response),
    );
    server.on('upgrade', (request, socket, head) => void gateway.upgrade(request, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    gateway.site = {
      apiId: 'local',
      stage: gateway.stage,
      domainName: `${options.host ?? '127.0.0.1'}:${port}`,
    };
    return gateway;
  }

  get stage(): string {
    return this.options.stage ?? 'local';
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  /** What clients connect to. */
  get url(): string {
    return `ws://${this.site.domainName}/${this.stage}`;
  }

  /** What the management API client is given as `endpoint`. */
  get managementEndpoint(): string {
    return `http://${this.site.domainName}/${this.stage}`;
  }

  get maxMessageBytes(): number {
    return this.limits.maxMessageBytes;
  }

  /** Closes every connection (running $disconnect) and stops listening. */
  async stop(): Promise<void> {
    for (const connection of this.connections.values())
      this.close(connection, GOING_AWAY, 'Going away');
    await new Promise<void>((resolve) => setTimeout(resolve, 20));
    for (const connection of this.connections.values()) connection.socket.terminate();
    await Promise.allSettled([...this.pending]);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Sends text to a client, as PostToConnection does. */
  send(connection: LiveConnection, data: string): void {
    connection.socket.send(data);
  }

  close(connection: LiveConnection, code: number, reason: string): void {
    if (connection.closing) return;
    connection.closing = true;
    connection.socket.close(code, reason);
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(request.url ?? '/', `http://${this.site.domainName}`);
    if (url.pathname.replace(/\/$/, '') !== `/${this.stage}`)
      return rejectHandshake(socket, 403, 'Forbidden');
    const info: ConnectionInfo = {
      connectionId: (this.options.newConnectionId ?? newConnectionId)(),
      connectedAt: Date.now(),
      sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
      userAgent: request.headers['user-agent'] ?? '',
    };
    const connect = this.options.handlers.get('$connect');
    if (connect) {
      const status = await this.track(
        this.invoke('$connect', connect, connectEvent(this.site, info, request, url)),
      )
        .then((result) => statusOf(result))
        .catch(() => 500);
      if (status < 200 || status > 299)
        return rejectHandshake(
          socket,
          status,
          status === 500 ? 'Internal Server Error' : 'Forbidden',
        );
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, info));
  }

  private accept(socket: WebSocket, info: ConnectionInfo): void {
    const connection: LiveConnection = {
      ...info,
      socket,
      lastActiveAt: Date.now(),
      closing: false,
    };
    this.connections.set(info.connectionId, connection);
    const sniffer = new FrameSniffer(this.limits, ({ code, reason }) =>
      this.close(connection, code, reason),
    );
    // Prepended, so each frame header is judged before ws delivers that frame's message.
    (socket as unknown as { _socket: Duplex })._socket.prependListener('data', (chunk: Buffer) =>
      sniffer.push(chunk),
    );
    connection.lifetimeTimer = setTimeout(
      () => this.close(connection, GOING_AWAY, 'Going away'),
      this.limits.maxConnectionMs,
    );
    this.resetIdleTimer(connection);
    socket.on('message', (data, isBinary) => this.onMessage(connection, data, isBinary));
    socket.on('error', () => undefined); // ws closes with 1009/1002 itself; nothing else to do
    socket.on('close', (code, reason) => this.onClose(connection, code, reason.toString()));
  }

  private resetIdleTimer(connection: LiveConnection): void {
    clearTimeout(connection.idleTimer);
    connection.idleTimer = setTimeout(
      () => this.close(connection, GOING_AWAY, 'Going away'),
      this.limits.idleTimeoutMs,
    );
  }

  private onMessage(connection: LiveConnection, data: RawData, isBinary: boolean): void {
    if (connection.closing) return;
    if (isBinary) return this.close(connection, 1003, 'Binary frames are not supported');
    connection.lastActiveAt = Date.now();
    this.resetIdleTimer(connection);
    const body = rawToString(data);
    const routeKey = this.selectRoute(body);
    const event = messageEvent(this.site, connection, routeKey ?? '$default', body);
    if (routeKey === undefined) {
      return this.reply(connection, {
        message: 'Forbidden',
        connectionId: connection.connectionId,
        requestId: event.requestContext.requestId,
      });
    }
    const started = Date.now();
    void this.track(
      this.invoke(routeKey, this.options.handlers.get(routeKey)!, event).then(
        (result) => {
          this.options.onLog?.(`${routeKey} ${statusOf(result)} ${Date.now() - started}ms`);
          const responseBody = bodyOf(result);
          if (responseBody === undefined) return;
          // A route response is a message like any other: past 128 KB it is not delivered.
          const bytes = Buffer.byteLength(responseBody, 'utf8');
          if (bytes > this.limits.maxMessageBytes) {
            this.options.onLog?.(
              `${routeKey} reply of ${bytes} bytes not delivered: over the ${this.limits.maxMessageBytes}-byte message limit`,
            );
            return;
          }
          this.reply(connection, responseBody);
        },
        (error: unknown) => {
          this.options.onLog?.(
            `${routeKey} threw ${error instanceof Error ? error.name : 'error'} ${Date.now() - started}ms`,
          );
          // The real service answers a failed integration with this body; we add the protocol's code.
          this.reply(connection, {
            type: 'error',
            code: 'INTERNAL',
            message: 'Internal server error',
            connectionId: connection.connectionId,
            requestId: event.requestContext.requestId,
          });
        },
      ),
    );
  }

  /** Route selection expression `$request.body.action`, falling back to $default. */
  private selectRoute(body: string): string | undefined {
    let action: unknown;
    try {
      action = (JSON.parse(body) as { action?: unknown } | null)?.action;
    } catch {
      action = undefined;
    }
    if (typeof action === 'string' && !action.startsWith('$') && this.options.handlers.has(action))
      return action;
    return this.options.handlers.has('$default') ? '$default' : undefined;
  }

  private reply(connection: LiveConnection, body: string | object): void {
    if (connection.closing || connection.socket.readyState !== connection.socket.OPEN) return;
    connection.socket.send(typeof body === 'string' ? body : JSON.stringify(body));
  }

  private onClose(connection: LiveConnection, code: number, reason: string): void {
    connection.closing = true;
    clearTimeout(connection.idleTimer);
    clearTimeout(connection.lifetimeTimer);
    this.connections.delete(connection.connectionId);
    const disconnect = this.options.handlers.get('$disconnect');
    if (disconnect) {
      void this.track(
        this.invoke(
          '$disconnect',
          disconnect,
          disconnectEvent(this.site, connection, code, reason),
        ).catch(() => undefined),
      );
    }
  }

  private invoke(routeKey: string, handler: LambdaHandler, event: object): Promise<unknown> {
    const name = `cipherline-${routeKey.replace('$', '')}`;
    return Promise.resolve().then(() =>
      (handler as (e: object, c: Context) => Promise<unknown>)(event, lambdaContext(name)),
    );
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise)).catch(() => undefined);
    return promise;
  }
}

function statusOf(result: unknown): number {
  const status = (result as { statusCode?: unknown } | null | undefined)?.statusCode;
  return typeof status === 'number' ? status : 200;
}

function bodyOf(result: unknown): string | undefined {
  if (typeof result === 'string') return result;
  const body = (result as { body?: unknown } | null | undefined)?.body;
  return typeof body === 'string' ? body : undefined;
}

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

function rejectHandshake(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
