/**
 * Request and reply over one MessageSocket: each frame gets a fresh id and exactly one reply
 * (`replyTo`); everything else the server sends is a push. A reply `{type:'error'}` rejects with
 * the server's code and message (ServerError); a connection that drops first rejects with OFFLINE,
 * so the caller may resend (every command that changes state is idempotent by its message id).
 */
import type { CommandRoute } from '../../protocol/routes';
import { CipherlineError, ServerError, isServerCode } from './errors';
import type { Clock, MessageSocket } from './ports';

export type Json = Record<string, unknown>;

/** Sends a command once online and resolves with its reply (Connection.call), limited to the
 * routes a part of the session uses. `retry`: resend after a dropped connection (idempotent
 * commands only). */
export type CallServer<Route extends CommandRoute> = <T = Json>(
  action: Route,
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
      else if (event.type === 'closed') this.#failAll();
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
  request<T = Json>(
    action: CommandRoute,
    fields: Json = {},
    timeoutMs = this.#timeoutMs,
  ): Promise<T> {
    const id = this.#newId();
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
        this.#socket.send(JSON.stringify({ ...fields, action, id }));
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

  #failAll(): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const entry of pending) {
      entry.cancelTimer();
      entry.reject(offline(entry.action));
    }
  }
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
