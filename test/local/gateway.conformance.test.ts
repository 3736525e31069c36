/**
 * The local API Gateway against the behaviour of the real service (DESIGN.md section 6),
 * driven by a real `ws` client and the real @aws-sdk/client-apigatewaymanagementapi.
 */
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalGateway, type LambdaHandler } from '../../infra/local/gateway';
import { WS_LIMITS } from '../../protocol/limits';
import { TestClient } from '../../tools/ws-client';

type AnyEvent = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const events: AnyEvent[] = [];
const eventsOf = (routeKey: string) => events.filter((e) => e.requestContext.routeKey === routeKey);

const handlers = new Map<string, LambdaHandler>(
  Object.entries({
    $connect: async (event: AnyEvent) => {
      events.push(event);
      if (event.queryStringParameters?.reject)
        return { statusCode: Number(event.queryStringParameters.reject) };
      if (event.queryStringParameters?.crash) throw new Error('connect handler failed');
      return { statusCode: 200 };
    },
    $disconnect: async (event: AnyEvent) => {
      events.push(event);
      return { statusCode: 200 };
    },
    $default: async (event: AnyEvent) => ({
      statusCode: 200,
      body: JSON.stringify({ route: '$default', body: event.body }),
    }),
    echo: async (event: AnyEvent) => {
      events.push(event);
      return {
        statusCode: 200,
        body: JSON.stringify({
          route: 'echo',
          requestContext: event.requestContext,
          body: event.body,
        }),
      };
    },
    size: async (event: AnyEvent) => ({
      statusCode: 200,
      body: JSON.stringify({ route: 'size', length: event.body.length }),
    }),
    silent: async () => ({ statusCode: 200 }),
    /** A route reply of exactly `bytes` bytes. */
    reply: async (event: AnyEvent) => {
      const { bytes } = JSON.parse(event.body as string) as { bytes: number };
      const prefix = '{"route":"reply","pad":"';
      return { statusCode: 200, body: prefix + 'x'.repeat(bytes - prefix.length - 2) + '"}' };
    },
    boom: async () => {
      throw new Error('handler bug');
    },
  }) as [string, LambdaHandler][],
);

let nextIds: string[] = [];
const logLines: string[] = [];
let gateway: LocalGateway;
let management: ApiGatewayManagementApiClient;

beforeAll(async () => {
  gateway = await LocalGateway.start({
    handlers,
    port: 0,
    newConnectionId: () => nextIds.shift() ?? `id${Math.random()}=`,
    onLog: (line) => logLines.push(line),
  });
  management = new ApiGatewayManagementApiClient({
    endpoint: gateway.managementEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});
afterAll(() => gateway.stop());

const connect = (query = '', headers: Record<string, string> = {}) =>
  TestClient.connect(`${gateway.url}${query}`, headers);

describe('$connect', () => {
  it('hands the handler an API Gateway-shaped CONNECT event with headers and query string', async () => {
    const client = await connect('?token=abc&tag=1&tag=2', { 'user-agent': 'conformance-test' });
    const event = eventsOf('$connect').at(-1)!;
    expect(event.requestContext).toMatchObject({
      routeKey: '$connect',
      eventType: 'CONNECT',
      stage: 'local',
      apiId: 'local',
      messageDirection: 'IN',
      domainName: `127.0.0.1:${gateway.port}`,
      identity: { sourceIp: '127.0.0.1', userAgent: 'conformance-test' },
    });
    expect(typeof event.requestContext.connectionId).toBe('string');
    expect(event.requestContext.connectedAt).toBeGreaterThan(Date.now() - 10_000);
    expect(event.requestContext.requestTimeEpoch).toBeGreaterThanOrEqual(
      event.requestContext.connectedAt,
    );
    expect(event.requestContext.requestTime).toMatch(/^\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000$/);
    expect(event.queryStringParameters).toEqual({ token: 'abc', tag: '2' });
    expect(event.multiValueQueryStringParameters).toEqual({ token: ['abc'], tag: ['1', '2'] });
    expect(event.headers['user-agent']).toBe('conformance-test');
    client.close();
    await client.closed;
  });

  it('refuses the handshake with the status a handler returns, and with 500 when it throws', async () => {
    await expect(connect('?reject=401')).rejects.toThrow('handshake refused: 401');
    await expect(connect('?reject=403')).rejects.toThrow('handshake refused: 403');
    await expect(connect('?crash=1')).rejects.toThrow('handshake refused: 500');
  });

  it('refuses a path other than the stage', async () => {
    await expect(TestClient.connect(`ws://127.0.0.1:${gateway.port}/other`)).rejects.toThrow(
      'handshake refused: 403',
    );
  });
});

describe('routing and route responses', () => {
  it('selects the route on `action`, with an API Gateway-shaped MESSAGE event, and returns the body as the response', async () => {
    const client = await connect();
    const connectionId = eventsOf('$connect').at(-1)!.requestContext.connectionId;
    const body = JSON.stringify({ action: 'echo', id: '1', text: 'hello' });
    client.socket.send(body);
    const reply = await client.next();
    expect(reply.route).toBe('echo');
    expect(reply.body).toBe(body);
    expect(reply.requestContext).toMatchObject({
      routeKey: 'echo',
      eventType: 'MESSAGE',
      connectionId,
      stage: 'local',
    });
    expect(typeof (reply.requestContext as AnyEvent).messageId).toBe('string');
    expect(typeof (reply.requestContext as AnyEvent).requestId).toBe('string');
    client.close();
  });

  it('falls back to $default for an unknown action, a missing action, a system route name and non-JSON text', async () => {
    const client = await connect();
    for (const text of [
      JSON.stringify({ action: 'nope' }),
      JSON.stringify({ id: 1 }),
      JSON.stringify({ action: '$connect' }),
      'not json',
      '',
    ]) {
      client.socket.send(text);
      expect(await client.next()).toEqual({ route: '$default', body: text });
    }
    client.close();
  });

  it('sends nothing when the handler returns no body', async () => {
    const client = await connect();
    client.sendJson({ action: 'silent' });
    expect(await client.silentFor(300)).toBe(true);
    client.close();
  });

  it('answers a throwing handler with a structured INTERNAL error and keeps every connection up', async () => {
    const failing = await connect();
    const bystander = await connect();
    failing.sendJson({ action: 'boom', id: 'x' });
    const error = await failing.next();
    expect(error).toMatchObject({
      type: 'error',
      code: 'INTERNAL',
      message: 'Internal server error',
    });
    expect(JSON.stringify(error)).not.toContain('handler bug');
    failing.sendJson({ action: 'size' });
    expect(await failing.next()).toEqual({ route: 'size', length: 17 });
    bystander.sendJson({ action: 'size' });
    expect(await bystander.next()).toEqual({ route: 'size', length: 17 });
    failing.close();
    bystander.close();
  });
});

describe('$disconnect', () => {
  it('runs with a DISCONNECT event carrying the close code when the client leaves', async () => {
    const client = await connect();
    const connectionId = eventsOf('$connect').at(-1)!.requestContext.connectionId;
    client.socket.close(1000, 'bye');
    await expect
      .poll(() =>
        eventsOf('$disconnect').find((e) => e.requestContext.connectionId === connectionId),
      )
      .toBeDefined();
    const event = eventsOf('$disconnect').find(
      (e) => e.requestContext.connectionId === connectionId,
    )!;
    expect(event.requestContext).toMatchObject({
      eventType: 'DISCONNECT',
      disconnectStatusCode: 1000,
      disconnectReason: 'bye',
    });
  });
});

describe('@connections management API through the real SDK client', () => {
  it('posts, gets and deletes a connection whose id needs URL-encoding', async () => {
    const id = 'a+b/c=d==';
    nextIds = [id];
    const client = await connect('', { 'user-agent': 'mgmt-test' });
    await management.send(
      new PostToConnectionCommand({
        ConnectionId: id,
        Data: new TextEncoder().encode('{"type":"pushed"}'),
      }),
    );
    expect(await client.next()).toEqual({ type: 'pushed' });

    const info = await management.send(new GetConnectionCommand({ ConnectionId: id }));
    expect(info.ConnectedAt).toBeInstanceOf(Date);
    expect(info.LastActiveAt).toBeInstanceOf(Date);
    expect(info.Identity).toEqual({ SourceIp: '127.0.0.1', UserAgent: 'mgmt-test' });

    await management.send(new DeleteConnectionCommand({ ConnectionId: id }));
    expect((await client.closed).code).toBe(1000);
    await expect
      .poll(() => eventsOf('$disconnect').some((e) => e.requestContext.connectionId === id))
      .toBe(true);
  });

  it('makes the SDK throw GoneException for a connection that is gone or never was', async () => {
    nextIds = ['gone-soon='];
    const client = await connect();
    client.close();
    await client.closed;
    for (const command of [
      new PostToConnectionCommand({
        ConnectionId: 'gone-soon=',
        Data: new TextEncoder().encode('x'),
      }),
      new GetConnectionCommand({ ConnectionId: 'gone-soon=' }),
      new DeleteConnectionCommand({ ConnectionId: 'never-was' }),
    ]) {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const error = await management.send(command as any).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GoneException);
      expect((error as GoneException).$metadata.httpStatusCode).toBe(410);
    }
  });

  it('refuses a post larger than 128 KB with PayloadTooLargeException and keeps the connection', async () => {
    nextIds = ['big='];
    const client = await connect();
    const data = new Uint8Array(WS_LIMITS.maxMessageBytes + 1).fill(0x61);
    await expect(
      management.send(new PostToConnectionCommand({ ConnectionId: 'big=', Data: data })),
    ).rejects.toBeInstanceOf(PayloadTooLargeException);
    await management.send(
      new PostToConnectionCommand({
        ConnectionId: 'big=',
        Data: new TextEncoder().encode('{"ok":1}'),
      }),
    );
    expect(await client.next()).toEqual({ ok: 1 });
    client.close();
  });

  it('refuses calls without a SigV4 signature', async () => {
    const response = await fetch(`${gateway.managementEndpoint}/@connections/x`, {
      method: 'POST',
      body: 'x',
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('x-amzn-errortype')).toBe('ForbiddenException');
  });
});

describe('size limits (32 KB per frame, 128 KB per message, text only)', () => {
  const sizeFrame = (total: number) => {
    const prefix = '{"action":"size","pad":"';
    return prefix + 'x'.repeat(total - prefix.length - 2) + '"}';
  };

  // As AWS documents it: a larger frame or message closes the connection with 1009 (the reason
  // API Gateway sends is "Message too big"; sources in infra/local/frame-sniffer.ts).
  it('accepts a frame of exactly 32 KB and closes with 1009 "Message too big" on one byte more', async () => {
    const client = await connect();
    client.socket.send(sizeFrame(WS_LIMITS.maxFrameBytes));
    expect(await client.next()).toEqual({ route: 'size', length: WS_LIMITS.maxFrameBytes });
    client.socket.send(sizeFrame(WS_LIMITS.maxFrameBytes + 1));
    expect(await client.closed).toEqual({ code: 1009, reason: 'Message too big' });
    expect(await client.silentFor(100)).toBe(true);
  });

  it('reassembles a 120 KB message sent as 30 KB frames, and closes with 1009 past 128 KB', async () => {
    const client = await connect();
    const sendFragmented = (text: string) => {
      const piece = 30 * 1024;
      for (let offset = 0; offset < text.length; offset += piece) {
        client.socket.send(text.slice(offset, offset + piece), {
          fin: offset + piece >= text.length,
        });
      }
    };
    sendFragmented(sizeFrame(120 * 1024));
    expect(await client.next()).toEqual({ route: 'size', length: 120 * 1024 });
    sendFragmented(sizeFrame(WS_LIMITS.maxMessageBytes + 1));
    expect(await client.closed).toEqual({ code: 1009, reason: 'Message too big' });
    expect(await client.silentFor(100)).toBe(true);
  });

  it('delivers a route reply of 128 KB, and none past it, as API Gateway does not', async () => {
    const client = await connect();
    client.sendJson({ action: 'reply', bytes: WS_LIMITS.maxMessageBytes });
    expect(await client.next()).toMatchObject({ route: 'reply' });
    client.sendJson({ action: 'reply', bytes: WS_LIMITS.maxMessageBytes + 1 });
    expect(await client.silentFor(300)).toBe(true);
    expect(logLines).toContain(
      `reply reply of ${WS_LIMITS.maxMessageBytes + 1} bytes not delivered: over the ${WS_LIMITS.maxMessageBytes}-byte message limit`,
    );
    // The connection stays open.
    client.sendJson({ action: 'size' });
    expect(await client.next()).toEqual({ route: 'size', length: 17 });
    client.close();
  });

  it('closes with 1003 on a binary frame and leaves other connections alone', async () => {
    const client = await connect();
    const other = await connect();
    client.socket.send(new Uint8Array([1, 2, 3]), { binary: true });
    expect((await client.closed).code).toBe(1003);
    other.sendJson({ action: 'size' });
    expect(await other.next()).toEqual({ route: 'size', length: 17 });
    other.close();
  });
});

describe('time limits (shortened for the test)', () => {
  it('closes an idle connection with 1001, keeps a busy one until the maximum duration', async () => {
    const timed = await LocalGateway.start({
      handlers,
      port: 0,
      limits: { idleTimeoutMs: 300, maxConnectionMs: 1200 },
    });
    try {
      const idle = await TestClient.connect(timed.url);
      const busy = await TestClient.connect(timed.url);
      const started = Date.now();
      const keepAlive = setInterval(() => busy.sendJson({ action: 'silent' }), 100);
      const idleClosed = await idle.closed;
      expect(idleClosed.code).toBe(1001);
      expect(Date.now() - started).toBeLessThan(1000);
      const busyClosed = await busy.closed;
      clearInterval(keepAlive);
      expect(busyClosed.code).toBe(1001);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1100);
    } finally {
      await timed.stop();
    }
  });

  it('uses the real service limits by default', () => {
    expect(WS_LIMITS).toEqual({
      maxFrameBytes: 32768,
      maxMessageBytes: 131072,
      idleTimeoutMs: 600_000,
      maxConnectionMs: 7_200_000,
    });
  });
});
