/**
 * One logical connection to the cloud that reconnects by itself, for every platform: the PWA
 * (web/src/platform/reconnecting-socket.ts: the browser's WebSocket, and its network events) and
 * the terminal client (client/node/: the `ws` library). After a close it waits with jittered
 * exponential back-off (backoff.ts), sooner when the platform says the network is back; a
 * connection that stayed open a while resets the back-off; a handshake that hangs counts as
 * failed. While the platform reports no network nothing is tried. `send()` while not open throws
 * rather than queueing, so the session decides what to send again.
 */
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff';
import type { MessageSocket, SocketEvent, SocketState } from './ports';

/** The part of a WHATWG WebSocket this uses (the browser's, or `ws`'s). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { readonly data: unknown }) => void) | null;
  onclose: ((event: { readonly code: number; readonly reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(text: string): void;
  close(code?: number, reason?: string): void;
}

/** What the platform knows about its network (browsers: online/offline, visibility...). */
export interface NetworkWatch {
  isOnline(): boolean;
  /** `retrySoon`: a retry is worth it now (back online, woke up); `offline`: the network is gone. */
  subscribe(handlers: { readonly retrySoon: () => void; readonly offline: () => void }): () => void;
}

export interface ReconnectingSocketOptions {
  readonly url: string;
  readonly createSocket: (url: string) => WebSocketLike;
  readonly network?: NetworkWatch;
  readonly backoff?: BackoffPolicy;
  /** A handshake that has not finished by then counts as failed. */
  readonly connectTimeoutMs?: number;
  /** A connection that stayed open this long resets the back-off to its first step. */
  readonly stableAfterMs?: number;
  readonly random?: () => number;
}

const OPEN = 1;
const CLOSED = 3;
/** Close codes 4000-4999 are the application's own. */
const CLOSE_RECONNECT = 4000;
const CLOSE_OFFLINE = 4001;
const CLOSE_STOPPED = 1000;

export class SocketNotOpenError extends Error {
  override readonly name = 'SocketNotOpenError';
  constructor() {
    super(
      'Not connected to the cloud right now; the message was not sent. It reconnects by itself.',
    );
  }
}

const alwaysOnline: NetworkWatch = { isOnline: () => true, subscribe: () => () => undefined };

export class ReconnectingSocket implements MessageSocket {
  #state: SocketState = { status: 'stopped' };
  #socket: WebSocketLike | undefined;
  #attempt = 0;
  #openedAt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #unwatch: (() => void) | undefined;
  readonly #listeners = new Set<(event: SocketEvent) => void>();
  readonly #options: Required<ReconnectingSocketOptions>;

  constructor(options: ReconnectingSocketOptions) {
    this.#options = {
      network: alwaysOnline,
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
    this.#unwatch = this.#options.network.subscribe({
      retrySoon: this.#retrySoon,
      offline: () => {
        this.#clearTimers();
        this.#drop(CLOSE_OFFLINE, 'offline');
        this.#setState({ status: 'offline' });
      },
    });
    this.#attempt = 0;
    if (this.#options.network.isOnline()) this.#connect();
    else this.#setState({ status: 'offline' });
  }

  stop(): void {
    if (this.#state.status === 'stopped') return;
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#clearTimers();
    this.#drop(CLOSE_STOPPED, 'stopped');
    this.#setState({ status: 'stopped' });
  }

  send(text: string): void {
    if (this.#state.status !== 'open' || this.#socket?.readyState !== OPEN)
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
    const socket = this.#options.createSocket(this.#options.url);
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
    socket.onmessage = (event) => {
      if (this.#socket === socket && typeof event.data === 'string')
        this.#emit({ type: 'message', text: event.data });
    };
    // A failed handshake fires error then close; close alone decides what happens next.
    socket.onerror = () => undefined;
    socket.onclose = (event) => {
      if (this.#socket === socket) this.#lost(socket, event.code, event.reason);
    };
  }

  /** The current connection ended (or never opened): schedule the next attempt. */
  #lost(socket: WebSocketLike, code: number, reason: string): void {
    this.#socket = undefined;
    this.#clearTimers();
    detach(socket);
    if (socket.readyState !== CLOSED) socket.close(CLOSE_RECONNECT, reason);
    const wasStable =
      this.#openedAt > 0 && Date.now() - this.#openedAt >= this.#options.stableAfterMs;
    this.#openedAt = 0;
    this.#emit({ type: 'closed', code, reason });
    if (!this.#options.network.isOnline()) {
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
    if ((status === 'waiting' || status === 'offline') && this.#options.network.isOnline()) {
      this.#clearTimers();
      this.#connect();
    }
  };

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

/** Stops listening to a socket being dropped (its error handler stays: a late error is ignored). */
function detach(socket: WebSocketLike): void {
  socket.onopen = socket.onmessage = socket.onclose = null;
}
