/**
 * The PWA's reconnecting WebSocket (web/src/platform/reconnecting-socket.ts) in Chromium against
 * a WebSocket server the test controls: it reconnects after drops and refusals, backs off, stops
 * trying while the browser is offline and retries at once when the network comes back or the
 * page becomes visible (with a back-off of an hour, so nothing else could have made it retry).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Page } from 'playwright-core';
import { launchChromium, type ChromiumSession } from '../../tools/chromium';
import { freePort } from '../../tools/processes';

const ENTRY = 'test/browser/entries/reconnecting-socket.entry.ts';
const QUICK = { initialMs: 50, maxMs: 200, multiplier: 2 };
const AN_HOUR = { initialMs: 3_600_000, maxMs: 3_600_000, multiplier: 1 };

/** A server that can be stopped and started again on the same port. */
class TestServer {
  server: WebSocketServer | undefined;
  connections: WebSocket[] = [];
  received: string[] = [];
  constructor(readonly port: number) {}
  get url() {
    return `ws://127.0.0.1:${this.port}/`;
  }
  async start(): Promise<void> {
    const server = new WebSocketServer({ port: this.port, host: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    server.on('connection', (socket) => {
      this.connections.push(socket);
      socket.on('message', (data) => this.received.push(String(data)));
      socket.send(`hello ${this.connections.length}`);
    });
    this.server = server;
  }
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const client of server.clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
  }
}

const status = (page: Page, wanted: string) =>
  page.waitForFunction(`window.socketProbe.state.status === ${JSON.stringify(wanted)}`);
const opens = (page: Page, count: number) =>
  page.waitForFunction(`window.socketProbe.opens >= ${count}`);

describe('reconnecting WebSocket', () => {
  let chromium: ChromiumSession;
  let server: TestServer;
  const run = <T>(input: unknown) => chromium.runInPage<T>(ENTRY, input);

  beforeAll(async () => {
    chromium = await launchChromium();
    server = new TestServer(await freePort());
  });
  afterEach(async () => {
    await run({ op: 'stop' }).catch(() => undefined);
    await chromium.page.context().setOffline(false);
    await server.stop();
    server.connections = [];
    server.received = [];
  });
  afterAll(() => chromium.close());

  it('connects, carries text both ways, and reconnects after the server drops it', async () => {
    await server.start();
    await run({ op: 'start', url: server.url, backoff: QUICK });
    await status(chromium.page, 'open');
    expect(await run({ op: 'send', text: 'frame one' })).toBe('sent');
    await chromium.page.waitForFunction(`window.socketProbe.messages.includes('hello 1')`);

    server.connections[0]!.terminate();
    await opens(chromium.page, 2);
    await chromium.page.waitForFunction(`window.socketProbe.messages.includes('hello 2')`);
    expect(await run({ op: 'send', text: 'frame two' })).toBe('sent');
    await expect.poll(() => server.received).toEqual(['frame one', 'frame two']);
    const states = await chromium.page.evaluate('window.socketProbe.states');
    expect(states).toEqual(['connecting', 'open', 'waiting', 'connecting', 'open']);
  });

  it('keeps retrying with growing delays while the server is down, and connects when it is back', async () => {
    await run({ op: 'start', url: server.url, backoff: QUICK });
    await chromium.page.waitForFunction(`window.socketProbe.closes.length >= 3`);
    expect(await run({ op: 'send', text: 'lost' })).toBe('SocketNotOpenError');
    const attempts = (await chromium.page.evaluate(
      `window.socketProbe.state.attempt ?? 0`,
    )) as number;
    expect(attempts).toBeGreaterThanOrEqual(2);
    await server.start();
    await status(chromium.page, 'open');
    expect(server.connections).toHaveLength(1);
  });

  it('goes quiet while offline (dropping the open socket) and reconnects as soon as the network is back', async () => {
    await server.start();
    await run({ op: 'start', url: server.url, backoff: AN_HOUR });
    await status(chromium.page, 'open');
    const closed = new Promise((resolve) => server.connections[0]!.once('close', resolve));

    await chromium.page.context().setOffline(true);
    await status(chromium.page, 'offline');
    await closed;

    await chromium.page.context().setOffline(false);
    await opens(chromium.page, 2);
    expect(server.connections).toHaveLength(2);
  });

  it('retries at once when the page becomes visible again, instead of waiting out the back-off', async () => {
    await server.start();
    await run({ op: 'start', url: server.url, backoff: AN_HOUR });
    await status(chromium.page, 'open');
    await server.stop();
    await status(chromium.page, 'waiting');
    await server.start();
    await run({ op: 'visible' });
    await opens(chromium.page, 2);
  });

  it('stop() closes the connection and never reconnects', async () => {
    await server.start();
    await run({ op: 'start', url: server.url, backoff: QUICK });
    await status(chromium.page, 'open');
    const closed = new Promise<number>((resolve) =>
      server.connections[0]!.once('close', (code) => resolve(code)),
    );
    expect(await run({ op: 'stop' })).toEqual({ status: 'stopped' });
    expect(await closed).toBe(1000);
    // A reconnect would open a second connection; the page would also leave "stopped".
    await chromium.page.waitForFunction(`window.socketProbe.states.at(-1) === 'stopped'`);
    expect(await run({ op: 'reconnectNow' })).toEqual({ status: 'stopped' });
    expect(server.connections).toHaveLength(1);
  });
});
