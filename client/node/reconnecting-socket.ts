/**
 * The terminal client's MessageSocket on the `ws` library: the same behaviour as the PWA's
 * ReconnectingSocket (web/src/platform/reconnecting-socket.ts) minus the browser's network
 * events: after a close it waits with exponential back-off and equal jitter, a connection that
 * stayed open a while resets the back-off, and a handshake that hangs counts as failed.
 */
import WebSocket from 'ws';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from '../session/backoff';
import type { MessageSocket, SocketEvent, SocketState } from '../session/ports';

export interface NodeSocketOptions {
  readonly url: string;
  readonly backoff?: BackoffPolicy;
  readonly connectTimeoutMs?: number;
  readonly stableAfterMs?: number;
  readonly random?: () => number;
}

const CLOSE_RECONNECT = 4000;
const CLOSE_STOPPED = 1000;

export class SocketNotOpenError extends Error {
  override readonly name = 'SocketNotOpenError';
  constructor() {
    super('Not connected to the cloud right now; nothing was sent. It reconnects by itself.');
  }
}

export class NodeReconnectingSocket implements MessageSocket {
  #state: SocketState = { status: 'stopped' };
  #socket: WebSocket | undefined;
  #attempt = 0;
  #openedAt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #connectTimer: NodeJS.Timeout | undefined;
  readonly #listeners = new Set<(event: SocketEvent) => void>();
  readonly #options: Required<NodeSocketOptions>;

  constructor(options: NodeSocketOptions) {
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
    this.#attempt = 0;
    this.#connect();
  }

  stop(): void {
    if (this.#state.status === 'stopped') return;
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
    socket.on('open', () => {
      if (this.#socket !== socket) return;
      clearTimeout(this.#connectTimer);
      this.#openedAt = Date.now();
      this.#setState({ status: 'open' });
      this.#emit({ type: 'open' });
    });
    socket.on('message', (data, isBinary) => {
      if (this.#socket === socket && !isBinary) this.#emit({ type: 'message', text: String(data) });
    });
    // A refused handshake emits 'error' then 'close'; 'close' alone decides what happens next.
    socket.on('error', () => undefined);
    socket.on('close', (code, reason) => {
      if (this.#socket === socket) this.#lost(socket, code, reason.toString());
    });
  }

  #lost(socket: WebSocket, code: number, reason: string): void {
    this.#socket = undefined;
    this.#clearTimers();
    socket.removeAllListeners('open');
    socket.removeAllListeners('message');
    socket.removeAllListeners('close');
    if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
    const wasStable =
      this.#openedAt > 0 && Date.now() - this.#openedAt >= this.#options.stableAfterMs;
    this.#openedAt = 0;
    this.#emit({ type: 'closed', code, reason });
    this.#attempt = wasStable ? 1 : this.#attempt + 1;
    const delay = backoffDelay(this.#attempt, this.#options.backoff, this.#options.random);
    this.#setState({ status: 'waiting', attempt: this.#attempt, retryAt: Date.now() + delay });
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }

  #drop(code: number, reason: string): void {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#openedAt = 0;
    if (!socket) return;
    socket.removeAllListeners('open');
    socket.removeAllListeners('message');
    socket.removeAllListeners('close');
    if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
    else socket.close(code, reason);
    this.#emit({ type: 'closed', code, reason });
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

export const connectNodeSocket = (url: string): MessageSocket =>
  new NodeReconnectingSocket({ url });
