/**
 * The life of the session's connection: every time the socket opens (first start, and after each
 * reconnect) the session authenticates on it (`resume` with the stored token, or the first
 * `signin`/`signup`); only then are commands sent. A heartbeat `ping` keeps the connection under
 * API Gateway's 10-minute idle limit; a failed or silent heartbeat drops the connection so the
 * socket reconnects. Authentication failures that may pass (OFFLINE, TIMEOUT, INTERNAL,
 * RATE_LIMITED) are retried with jittered back-off; a refused session (UNAUTHENTICATED,
 * INVALID_CREDENTIALS, FORBIDDEN) ends it.
 */
import type { SessionReply } from '../../protocol/commands';
import type { CommandRoute } from '../../protocol/routes';
import { backoffDelay } from './backoff';
import { CipherlineError, ServerError, asCipherlineError } from './errors';
import type { Clock, MessageSocket } from './ports';
import { Rpc, type Json, type ReplyTo } from './rpc';

export type ConnectionStatus =
  | 'stopped'
  | 'connecting'
  | 'authenticating'
  | 'online'
  /** The session was refused or signed out: nothing reconnects. */
  | 'ended';

export interface ConnectionOptions {
  readonly socket: MessageSocket;
  readonly clock: Clock;
  /** Runs on every new connection; resolves with the reply of `resume`/`signin`/`signup`. */
  readonly authenticate: (rpc: Rpc) => Promise<SessionReply>;
  /** After each successful authentication, with its reply (the first catch-up page). */
  readonly onAuthenticated: (reply: SessionReply) => void;
  readonly onStatus?: (status: ConnectionStatus) => void;
  /** The session was refused for good (e.g. signed out on another device). */
  readonly onEnded?: (error: CipherlineError) => void;
  readonly onPush: (event: Json) => void;
  /** Whether an authentication failure ends the session (default: UNAUTHENTICATED,
   * INVALID_CREDENTIALS and FORBIDDEN from the server); anything else is retried. */
  readonly isFinal?: (error: CipherlineError) => boolean;
  /** A ping after this long without any frame (default 4 minutes, under the 10-minute limit). */
  readonly heartbeatMs?: number;
  /** How long a command waits for the connection to be online (default 20 s). */
  readonly onlineTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
}

const FINAL_AUTH_CODES = new Set(['UNAUTHENTICATED', 'INVALID_CREDENTIALS', 'FORBIDDEN']);

/** The server refused the session itself (nothing to retry). */
export const isRefusal = (error: CipherlineError): boolean =>
  error instanceof ServerError && FINAL_AUTH_CODES.has(error.code);

export class Connection {
  readonly rpc: Rpc;
  #status: ConnectionStatus = 'stopped';
  /** Bumped on every new connection, so late answers for an old one are ignored. */
  #generation = 0;
  #authAttempt = 0;
  #cancelHeartbeat: (() => void) | undefined;
  #cancelRetry: (() => void) | undefined;
  readonly #waiters = new Set<() => void>();
  readonly #options: ConnectionOptions;
  readonly #heartbeatMs: number;
  readonly #onlineTimeoutMs: number;

  constructor(options: ConnectionOptions) {
    this.#options = options;
    this.#heartbeatMs = options.heartbeatMs ?? 4 * 60_000;
    this.#onlineTimeoutMs = options.onlineTimeoutMs ?? 20_000;
    this.rpc = new Rpc(options.socket, {
      clock: options.clock,
      ...(options.requestTimeoutMs !== undefined && { timeoutMs: options.requestTimeoutMs }),
    });
    this.rpc.onPush((event) => options.onPush(event));
    options.socket.subscribe((event) => {
      if (this.#status === 'stopped' || this.#status === 'ended') return;
      if (event.type === 'open') void this.#authenticate(++this.#generation);
      else if (event.type === 'closed') {
        this.#generation++;
        this.#stopTimers();
        this.#setStatus('connecting');
      }
    });
  }

  get status(): ConnectionStatus {
    return this.#status;
  }

  /** Connects (again, after stop() or the end of a session). */
  start(): void {
    if (this.#status !== 'stopped' && this.#status !== 'ended') return;
    this.#setStatus('connecting');
    this.#options.socket.start();
  }

  stop(): void {
    this.#finish('stopped');
  }

  /** Sends a command once the connection is online. `retry`: resend after a dropped connection
   * (only for commands that are idempotent, e.g. by their message id). */
  async call<R extends CommandRoute, T extends ReplyTo<R> = ReplyTo<R>>(
    action: R,
    fields: Json = {},
    options: { readonly retry?: boolean; readonly timeoutMs?: number } = {},
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      await this.whenOnline();
      try {
        const reply = await this.rpc.request<R, T>(action, fields, options.timeoutMs);
        this.#scheduleHeartbeat(this.#generation);
        return reply;
      } catch (error) {
        const retryable =
          options.retry && error instanceof CipherlineError && error.code === 'OFFLINE';
        if (!retryable || attempt >= 3) throw error;
      }
    }
  }

  /** Resolves once online; OFFLINE after the timeout, CLOSED once stopped or ended. */
  whenOnline(timeoutMs = this.#onlineTimeoutMs): Promise<void> {
    if (this.#status === 'online') return Promise.resolve();
    if (this.#status === 'stopped' || this.#status === 'ended') return Promise.reject(closed());
    return new Promise((resolve, reject) => {
      const done = () => {
        cancel();
        this.#waiters.delete(done);
        if (this.#status === 'online') resolve();
        else reject(closed());
      };
      const cancel = this.#options.clock.setTimer(timeoutMs, () => {
        this.#waiters.delete(done);
        reject(
          new CipherlineError(
            'OFFLINE',
            `Not connected to the server for ${Math.round(timeoutMs / 1000)} s; it keeps trying. Try again later.`,
          ),
        );
      });
      this.#waiters.add(done);
    });
  }

  async #authenticate(generation: number): Promise<void> {
    this.#stopTimers();
    this.#setStatus('authenticating');
    let reply: SessionReply;
    try {
      reply = await this.#options.authenticate(this.rpc);
    } catch (error) {
      if (generation !== this.#generation) return;
      const failure = asCipherlineError(error);
      const isFinal = this.#options.isFinal ?? isRefusal;
      if (isFinal(failure)) {
        this.#finish('ended');
        this.#options.onEnded?.(failure);
        return;
      }
      // Something that may pass: try again on this connection after a jittered pause (if the
      // server closes it meanwhile, the next connection authenticates anyway).
      const delay = backoffDelay(++this.#authAttempt, undefined, this.#options.clock.random);
      this.#cancelRetry = this.#options.clock.setTimer(delay, () => {
        if (generation === this.#generation) void this.#authenticate(generation);
      });
      return;
    }
    if (generation !== this.#generation) return;
    this.#authAttempt = 0;
    this.#setStatus('online');
    this.#scheduleHeartbeat(generation);
    for (const waiter of [...this.#waiters]) waiter();
    this.#options.onAuthenticated(reply);
  }

  #scheduleHeartbeat(generation: number): void {
    this.#cancelHeartbeat?.();
    const due = this.rpc.lastSentAt + this.#heartbeatMs;
    const wait = Math.max(1_000, due - this.#options.clock.now());
    this.#cancelHeartbeat = this.#options.clock.setTimer(wait, () => {
      if (generation !== this.#generation || this.#status !== 'online') return;
      if (this.#options.clock.now() - this.rpc.lastSentAt < this.#heartbeatMs) {
        this.#scheduleHeartbeat(generation);
        return;
      }
      this.rpc.request('ping', {}).then(
        () => this.#scheduleHeartbeat(generation),
        () => {
          // No answer on a connection that looks open: it is dead (e.g. a lost network path).
          if (generation === this.#generation) this.#options.socket.reconnectNow();
        },
      );
    });
  }

  #stopTimers(): void {
    this.#cancelHeartbeat?.();
    this.#cancelRetry?.();
    this.#cancelHeartbeat = this.#cancelRetry = undefined;
  }

  #finish(status: 'stopped' | 'ended'): void {
    if (this.#status === status) return;
    this.#generation++;
    this.#stopTimers();
    this.#setStatus(status);
    this.#options.socket.stop();
    for (const waiter of [...this.#waiters]) waiter();
  }

  #setStatus(status: ConnectionStatus): void {
    if (this.#status === status) return;
    this.#status = status;
    this.#options.onStatus?.(status);
  }
}

const closed = (): CipherlineError =>
  new CipherlineError('CLOSED', 'The session has ended (signed out or closed).');
