/** A test client on the real `ws` library: queued messages, replies by frame id, close codes. */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';

export interface Closed {
  readonly code: number;
  readonly reason: string;
}

export class TestClient {
  readonly closed: Promise<Closed>;
  private readonly queue: unknown[] = [];
  private readonly arrivals = new Set<() => void>();

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.queue.push(JSON.parse(String(data)) as unknown);
      for (const arrival of [...this.arrivals]) arrival();
    });
    this.closed = new Promise((resolve) =>
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  /**
   * `localAddress` picks the client's source address (any of 127.0.0.0/8 reaches a gateway on
   * 127.0.0.1), so a test can sign in "from another network".
   */
  static connect(
    url: string,
    headers: Record<string, string> = {},
    localAddress?: string,
  ): Promise<TestClient> {
    const socket = new WebSocket(url, { headers, ...(localAddress && { localAddress }) });
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new TestClient(socket)));
      socket.once('unexpected-response', (_request, response) =>
        reject(new Error(`handshake refused: ${response.statusCode}`)),
      );
      socket.once('error', reject);
    });
  }

  /** The first queued or arriving message that matches, taken out of the queue; others stay queued. */
  waitFor(
    predicate: (message: Record<string, unknown>) => boolean,
    timeoutMs = 15_000,
  ): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const take = () => {
        const index = this.queue.findIndex((message) =>
          predicate(message as Record<string, unknown>),
        );
        if (index < 0) return false;
        const [message] = this.queue.splice(index, 1);
        this.arrivals.delete(onArrival);
        clearTimeout(timer);
        resolve(message as Record<string, unknown>);
        return true;
      };
      const onArrival = () => void take();
      const timer = setTimeout(() => {
        this.arrivals.delete(onArrival);
        reject(new Error(`no matching message within ${timeoutMs} ms`));
      }, timeoutMs);
      if (!take()) this.arrivals.add(onArrival);
    });
  }

  /** Every queued message that matches, taken out of the queue at once (no waiting). */
  takeQueued(predicate: (message: Record<string, unknown>) => boolean): Record<string, unknown>[] {
    const taken: Record<string, unknown>[] = [];
    for (let i = 0; i < this.queue.length;) {
      const message = this.queue[i] as Record<string, unknown>;
      if (predicate(message)) {
        taken.push(message);
        this.queue.splice(i, 1);
      } else i++;
    }
    return taken;
  }

  /** The next message, in arrival order. */
  next(timeoutMs = 15_000): Promise<Record<string, unknown>> {
    return this.waitFor(() => true, timeoutMs);
  }

  /** True when no message arrives within `ms`. */
  silentFor(ms: number): Promise<boolean> {
    return this.next(ms).then(
      () => false,
      () => true,
    );
  }

  sendJson(frame: object): void {
    this.socket.send(JSON.stringify(frame));
  }

  /** Sends `{action, id, ...}` and waits for the reply to that frame. */
  request(
    action: string,
    fields: object = {},
    timeoutMs?: number,
  ): Promise<Record<string, unknown>> {
    const id = randomUUID();
    this.sendJson({ action, id, ...fields });
    return this.waitFor((message) => message.replyTo === id, timeoutMs);
  }

  close(): void {
    this.socket.close();
  }
}
