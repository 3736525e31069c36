/**
 * Stand-ins for the session's platform ports where a test must drive time or the connection by
 * hand: a clock whose timers fire when the test advances it, and a socket whose "server" is the
 * test (it sees every frame and answers or pushes what it likes).
 */
import type { Clock, MessageSocket, SocketEvent, SocketState } from '../../client/session/ports';

export class ManualClock implements Clock {
  #now: number;
  #timers: { at: number; callback: () => void; id: number }[] = [];
  #nextId = 0;

  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  random(): number {
    return 0.5;
  }

  setTimer(ms: number, callback: () => void): () => void {
    const id = this.#nextId++;
    this.#timers.push({ at: this.#now + ms, callback, id });
    return () => {
      this.#timers = this.#timers.filter((timer) => timer.id !== id);
    };
  }

  /** Moves time forward, firing due timers in order (and letting promises settle between them). */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      await flush();
      const due = this.#timers.filter((timer) => timer.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((timer) => timer !== due);
      this.#now = Math.max(this.#now, due.at);
      due.callback();
    }
    this.#now = end;
    await flush();
  }

  get pendingTimers(): number {
    return this.#timers.length;
  }
}

/** Lets queued promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

export class FakeSocket implements MessageSocket {
  state: SocketState = { status: 'stopped' };
  readonly sent: Record<string, unknown>[] = [];
  readonly #listeners = new Set<(event: SocketEvent) => void>();
  /** Called with each frame the session sends. */
  onFrame: (frame: Record<string, unknown>) => void = () => undefined;
  connections = 0;
  startCalls = 0;
  reconnects = 0;

  subscribe(listener: (event: SocketEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  start(): void {
    this.startCalls++;
    this.state = { status: 'connecting', attempt: 0 };
  }

  stop(): void {
    this.state = { status: 'stopped' };
    this.#emit({ type: 'closed', code: 1000, reason: 'stopped' });
  }

  send(text: string): void {
    if (this.state.status !== 'open') throw new Error('not open');
    const frame = JSON.parse(text) as Record<string, unknown>;
    this.sent.push(frame);
    this.onFrame(frame);
  }

  reconnectNow(): void {
    this.reconnects++;
    this.drop();
    this.open();
  }

  /** Opens the connection as soon as the client starts the socket (it may derive keys first). */
  async openWhenStarted(timeoutMs = 20_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.state.status !== 'connecting') {
      if (Date.now() > until) throw new Error('the client never started its socket');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    this.open();
  }

  /** The server accepted a connection. */
  open(): void {
    this.connections++;
    this.state = { status: 'open' };
    this.#emit({ type: 'open' });
  }

  /** The connection died. */
  drop(code = 1006): void {
    this.state = { status: 'waiting', attempt: 1, retryAt: 0 };
    this.#emit({ type: 'closed', code, reason: '' });
  }

  /** The server sends a frame. */
  receive(frame: object): void {
    this.#emit({ type: 'message', text: JSON.stringify(frame) });
  }

  reply(to: Record<string, unknown>, body: object = {}): void {
    this.receive({ type: 'ok', replyTo: to.id, ...body });
  }

  replyError(to: Record<string, unknown>, code: string, message: string): void {
    this.receive({ type: 'error', replyTo: to.id, code, message });
  }

  #emit(event: SocketEvent): void {
    for (const listener of [...this.#listeners]) listener(event);
  }
}
