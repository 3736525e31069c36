/**
 * A WebSocket that reconnects by itself with jittered back-off, and sooner when a retry is worth
 * it: the browser comes back `online`, the page becomes visible again (a phone waking up), the
 * network changes, or the page returns from the back-forward cache. While the browser reports no
 * network nothing is tried (and an open socket is dropped: its TCP path is gone).
 */
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff';
import {
  SocketNotOpenError,
  type MessageSocket,
  type SocketEvent,
  type SocketState,
} from './ports';

export interface ReconnectingSocketOptions {
  readonly url: string;
  readonly backoff?: BackoffPolicy;
  /** A handshake that has not finished by then counts as failed. */
  readonly connectTimeoutMs?: number;
  /** A connection that stayed open this long resets the back-off to its first step. */
  readonly stableAfterMs?: number;
  readonly random?: () => number;
}

/** Close codes 4000-4999 are the application's own. */
const CLOSE_RECONNECT = 4000;
const CLOSE_OFFLINE = 4001;
const CLOSE_STOPPED = 1000;

type NetworkInformationLike = EventTarget & { readonly type?: string };

export class ReconnectingSocket implements MessageSocket {
  #state: SocketState = { status: 'stopped' };
  #socket: WebSocket | undefined;
  #attempt = 0;
  #openedAt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #listeners = new Set<(event: SocketEvent) => void>();
  readonly #options: Required<ReconnectingSocketOptions>;
  readonly #unwatch: (() => void)[] = [];

  constructor(options: ReconnectingSocketOptions) {
    this.#options = {
      backoff: DEFAULT_BACKOFF,
      connectTimeoutMs: 10_000,
      stableAfterMs: 10_000,
      random: Math.random,
      ...options,
    };
  }

  get state(): SocketState {
    return this.#state;
  }

  subscribe(listener: (event: SocketEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  start(): void {
    if (this.#state.status !== 'stopped') return;
    this.#watchEnvironment();
    this.#attempt = 0;
    if (navigator.onLine) this.#connect();
    else this.#setState({ status: 'offline' });
  }

  stop(): void {
    if (this.#state.status === 'stopped') return;
    for (const unwatch of this.#unwatch.splice(0)) unwatch();
    this.#clearTimers();
    this.#drop(CLOSE_STOPPED, 'stopped');
    this.#setState({ status: 'stopped' });
  }

  send(text: string): void {
    if (this.#state.status !== 'open' || this.#socket?.readyState !== WebSocket.OPEN)
      throw new SocketNotOpenError();
    this.#socket.send(text);
  }

  reconnectNow(): void {
    if (this.#state.status === 'stopped') return;
    this.#clearTimers();
    this.#drop(CLOSE_RECONNECT, 'reconnecting');
    this.#connect();
  }

  #connect(): void {
    const socket = new WebSocket(this.#options.url);
    this.#socket = socket;
    this.#setState({ status: 'connecting', attempt: this.#attempt });
    this.#connectTimer = setTimeout(() => {
      if (this.#socket === socket) this.#lost(socket, 4002, 'handshake timed out');
    }, this.#options.connectTimeoutMs);
    socket.onopen = () => {
      if (this.#socket !== socket) return;
      clearTimeout(this.#connectTimer);
      this.#openedAt = Date.now();
      this.#setState({ status: 'open' });
      this.#emit({ type: 'open' });
    };
    socket.onmessage = (event: MessageEvent) => {
      if (this.#socket === socket && typeof event.data === 'string')
        this.#emit({ type: 'message', text: event.data });
    };
    // A failed handshake fires error then close; close alone decides what happens next.
    socket.onclose = (event) => {
      if (this.#socket === socket) this.#lost(socket, event.code, event.reason);
    };
  }

  /** The current connection ended (or never opened): schedule the next attempt. */
  #lost(socket: WebSocket, code: number, reason: string): void {
    this.#socket = undefined;
    this.#clearTimers();
    detach(socket);
    if (socket.readyState !== WebSocket.CLOSED) socket.close(CLOSE_RECONNECT, reason);
    const wasStable =
      this.#openedAt > 0 && Date.now() - this.#openedAt >= this.#options.stableAfterMs;
    this.#openedAt = 0;
    this.#emit({ type: 'closed', code, reason });
    if (!navigator.onLine) {
      this.#setState({ status: 'offline' });
      return;
    }
    this.#attempt = wasStable ? 1 : this.#attempt + 1;
    const delay = backoffDelay(this.#attempt, this.#options.backoff, this.#options.random);
    this.#setState({ status: 'waiting', attempt: this.#attempt, retryAt: Date.now() + delay });
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }

  /** Closes the current socket without scheduling anything. */
  #drop(code: number, reason: string): void {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#openedAt = 0;
    if (!socket) return;
    detach(socket);
    socket.close(code, reason);
    this.#emit({ type: 'closed', code, reason });
  }

  /** Retry now instead of at `retryAt`, when something suggests the network is back. */
  #retrySoon = (): void => {
    const status = this.#state.status;
    if ((status === 'waiting' || status === 'offline') && navigator.onLine) {
      this.#clearTimers();
      this.#connect();
    }
  };

  #watchEnvironment(): void {
    const on = (target: EventTarget, type: string, handler: (event: Event) => void) => {
      target.addEventListener(type, handler);
      this.#unwatch.push(() => target.removeEventListener(type, handler));
    };
    on(window, 'online', this.#retrySoon);
    on(window, 'offline', () => {
      this.#clearTimers();
      this.#drop(CLOSE_OFFLINE, 'offline');
      this.#setState({ status: 'offline' });
    });
    on(document, 'visibilitychange', () => {
      if (document.visibilityState === 'visible') this.#retrySoon();
    });
    on(window, 'pageshow', (event) => {
      if ((event as PageTransitionEvent).persisted) this.#retrySoon();
    });
    const connection = (navigator as Navigator & { connection?: NetworkInformationLike })
      .connection;
    if (connection) on(connection, 'change', this.#retrySoon);
  }

  #clearTimers(): void {
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#connectTimer);
  }

  #setState(state: SocketState): void {
    this.#state = state;
    this.#emit({ type: 'state', state });
  }

  #emit(event: SocketEvent): void {
    for (const listener of [...this.#listeners]) listener(event);
  }
}

function detach(socket: WebSocket): void {
  socket.onopen = socket.onmessage = socket.onclose = null;
}
