/**
 * Request and reply over one MessageSocket: each frame gets a fresh id and exactly one reply
 * (`replyTo`); everything else the server sends is a push. A reply `{type:'error'}` rejects with
 * the server's code and message (ServerError); a connection that drops first rejects with OFFLINE
 * at once (naming the close code), so the caller may resend (every command that changes state is
 * idempotent by its message id). A frame over API Gateway's 32 KB limit is never sent: the gateway
 * would close the whole connection (1009), so it rejects with TOO_LARGE before anything leaves.
 */
import { utf8 } from '../../protocol/bytes';
import { WS_LIMITS } from '../../protocol/limits';
import type { CommandReplies } from '../../protocol/replies';
import type { CommandRoute } from '../../protocol/routes';
import { CipherlineError, ServerError, isServerCode } from './errors';
import type { Clock, MessageSocket } from './ports';

export type Json = Record<string, unknown>;

/** A route's reply (protocol/replies.ts); for a route with several operations, the caller names
 * its operation's reply as `T`. */
export type ReplyTo<R extends CommandRoute> = CommandReplies[R];

/** Sends a command once online and resolves with its reply (Connection.call), limited to the
 * routes a part of the session uses. `retry`: resend after a dropped connection (idempotent
 * commands only). */
export type CallServer<Route extends CommandRoute> = <
  R extends Route,
  T extends ReplyTo<R> = ReplyTo<R>,
>(
  action: R,
  fields: Json,
  options?: { readonly retry?: boolean },
) => Promise<T>;

interface Pending {
  readonly action: CommandRoute;
  readonly resolve: (reply: Json) => void;
  readonly reject: (error: CipherlineError) => void;
  readonly cancelTimer: () => void;
}

export interface RpcOptions {
  readonly clock: Clock;
  /** How long a reply may take (default 30 s: a loaded server takes seconds, not minutes). */
  readonly timeoutMs?: number;
  readonly newId?: () => string;
}

export class Rpc {
  readonly #socket: MessageSocket;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #newId: () => string;
  readonly #pending = new Map<string, Pending>();
  readonly #pushListeners = new Set<(event: Json) => void>();
  #lastSentAt = 0;

  constructor(socket: MessageSocket, options: RpcOptions) {
    this.#socket = socket;
    this.#clock = options.clock;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#newId = options.newId ?? (() => globalThis.crypto.randomUUID());
    socket.subscribe((event) => {
      if (event.type === 'message') this.#receive(event.text);
      else if (event.type === 'closed') this.#failAll(event);
    });
  }

  /** When the last frame went out (the idle limit counts from there). */
  get lastSentAt(): number {
    return this.#lastSentAt;
  }

  onPush(listener: (event: Json) => void): () => void {
    this.#pushListeners.add(listener);
    return () => this.#pushListeners.delete(listener);
  }

  /** Sends `{action, id, ...fields}` and resolves with the `ok` reply. */
  request<R extends CommandRoute, T extends ReplyTo<R> = ReplyTo<R>>(
    action: R,
    fields: Json = {},
    timeoutMs = this.#timeoutMs,
  ): Promise<T> {
    const id = this.#newId();
    const text = JSON.stringify({ ...fields, action, id });
    // A browser sends a message as one frame, and so does ws: the frame limit is the limit.
    const bytes = utf8(text).length;
    if (bytes > WS_LIMITS.maxFrameBytes)
      return Promise.reject(
        new CipherlineError(
          'TOO_LARGE',
          `"${action}" was not sent: it needs ${bytes} bytes, more than the ${WS_LIMITS.maxFrameBytes} bytes (32 KB) one WebSocket frame may carry. Send less at once.`,
        ),
      );
    return new Promise<T>((resolve, reject) => {
      const cancelTimer = this.#clock.setTimer(timeoutMs, () => {
        if (!this.#pending.delete(id)) return;
        reject(
          new CipherlineError(
            'TIMEOUT',
            `The server did not answer "${action}" within ${Math.round(timeoutMs / 1000)} s; try again.`,
          ),
        );
      });
      this.#pending.set(id, {
        action,
        resolve: resolve as (reply: Json) => void,
        reject,
        cancelTimer,
      });
      try {
        this.#socket.send(text);
        this.#lastSentAt = this.#clock.now();
      } catch {
        this.#pending.delete(id);
        cancelTimer();
        reject(offline(action));
      }
    });
  }

  #receive(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return; // not ours to judge: the server only sends JSON
    }
    if (typeof message !== 'object' || message === null) return;
    const frame = message as Json;
    const replyTo = typeof frame.replyTo === 'string' ? frame.replyTo : undefined;
    const pending = replyTo === undefined ? undefined : this.#pending.get(replyTo);
    if (replyTo !== undefined && pending && (frame.type === 'ok' || frame.type === 'error')) {
      this.#pending.delete(replyTo);
      pending.cancelTimer();
      if (frame.type === 'ok') pending.resolve(frame);
      else pending.reject(serverError(frame, pending.action));
      return;
    }
    if (typeof frame.type === 'string' && replyTo === undefined)
      for (const listener of [...this.#pushListeners]) listener(frame);
  }

  /** The connection closed: nothing in flight can be answered any more, so all of it fails now. */
  #failAll(close: { readonly code: number; readonly reason: string }): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const entry of pending) {
      entry.cancelTimer();
      entry.reject(dropped(entry.action, close));
    }
  }
}

function dropped(action: string, close: { readonly code: number; readonly reason: string }) {
  const why = close.code === 1009 ? ', a frame was too big' : '';
  const detail = `${close.code}${close.reason ? ` ${close.reason}` : ''}${why}`;
  return new CipherlineError(
    'OFFLINE',
    `The connection closed (${detail}) before "${action}" was answered; it reconnects by itself, try again then.`,
  );
}

function offline(action: string): CipherlineError {
  return new CipherlineError(
    'OFFLINE',
    `Not connected to the server, so "${action}" did not go through; it reconnects by itself, try again then.`,
  );
}

function serverError(frame: Json, action: string): CipherlineError {
  const message =
    typeof frame.message === 'string' ? frame.message : `The server refused "${action}".`;
  return isServerCode(frame.code)
    ? new ServerError(frame.code, message)
    : new CipherlineError('PROTOCOL', `The server answered "${action}" with an unknown error.`);
}
