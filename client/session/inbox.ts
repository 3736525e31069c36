/**
 * The catch-up contract of docs/protocol.md section 2, exactly:
 *
 * 1. The replies to signup, signin, resume and ack carry a page `{events, through, more,
 *    retryAfterMs?}`: its events are processed in order, then `ack {through}` names exactly the
 *    page's `through`; the reply is the next page; this repeats while `more` (after
 *    `retryAfterMs` when named), and the last page is acked too when it moved a stream.
 * 2. Pushed events are processed when they arrive; shortly after (a debounce), `ack` names each
 *    pushed stream with the last `through` this device had for it, and the page that answers
 *    (holding the pushed events again, with their numbers) is processed and acked as above.
 *
 * Every event, paged or pushed, goes through one queue, so events are handled one at a time in
 * arrival order; duplicates (a push, then the same event in a page) are dropped by the handler
 * (the seen-id store). Events are handled before the ack that passes them, so an event whose
 * handling needs more (a file download, a group key still to come) is persisted by the handler
 * before it returns.
 */
import { CipherlineError } from './errors';
import type { Clock } from './ports';
import { Serial } from './serial';
import type { Json } from './rpc';

export interface PageWire {
  readonly events: readonly Json[];
  readonly through: Readonly<Record<string, number>>;
  readonly more: boolean;
  readonly retryAfterMs?: number;
}

export interface InboxDeps {
  /** Answers the next page, checked by readPage (the server's reply is not trusted blindly). */
  readonly ack: (through: Readonly<Record<string, number>>) => Promise<{ readonly page: unknown }>;
  /** Handles one event; must not throw for a bad event (it reports and drops it). */
  readonly handle: (event: Json) => Promise<void>;
  /** After a page sequence (or a batch of pushes) is done: e.g. a summary of what did not open. */
  readonly settled?: () => void;
  /** Acknowledging pushed events failed (the session reports it; nothing is lost). */
  readonly failed?: (error: unknown) => void;
  readonly clock: Clock;
  /** How long after a push the ack waits for more pushes (default 200 ms). */
  readonly pushAckDelayMs?: number;
}

/** A page as the server sent it, or a PROTOCOL error. */
export function readPage(value: unknown): PageWire {
  const page = value as Partial<PageWire> | undefined;
  if (
    typeof page !== 'object' ||
    page === null ||
    !Array.isArray(page.events) ||
    typeof page.through !== 'object' ||
    page.through === null ||
    typeof page.more !== 'boolean'
  )
    throw new CipherlineError('PROTOCOL', 'The server sent a catch-up page without its fields.');
  return page as PageWire;
}

export class Inbox {
  readonly #serial = new Serial();
  /** The last `through` of each stream this device got in a page. */
  readonly #through = new Map<string, number>();
  readonly #pushedStreams = new Set<string>();
  #cancelPushAck: (() => void) | undefined;
  #stopped = false;

  constructor(private readonly deps: InboxDeps) {}

  /** The first page of a connection (the signup/signin/resume reply). */
  onPage(page: PageWire): Promise<void> {
    return this.#serial.run(() => this.#drain(page));
  }

  /** A pushed event: handled now (in queue order), acked shortly after. */
  onPush(event: Json): Promise<void> {
    return this.#serial.run(async () => {
      await this.deps.handle(event);
      if (typeof event.stream === 'string') {
        this.#pushedStreams.add(event.stream);
        this.#schedulePushAck();
      }
    });
  }

  /** Asks the server for what this device has not processed of `stream` yet (after a send was
   * refused for a stale epoch: the new epoch is in the log). */
  catchUp(stream: string): Promise<void> {
    return this.#serial.run(() => this.#ackAndDrain({ [stream]: this.#through.get(stream) ?? 0 }));
  }

  stop(): void {
    this.#stopped = true;
    this.#cancelPushAck?.();
  }

  /** Resolves once everything queued so far is handled (for tests and a clean exit). */
  idle(): Promise<void> {
    return this.#serial.run(async () => undefined);
  }

  #schedulePushAck(): void {
    this.#cancelPushAck?.();
    this.#cancelPushAck = this.deps.clock.setTimer(this.deps.pushAckDelayMs ?? 200, () => {
      const streams = [...this.#pushedStreams];
      this.#pushedStreams.clear();
      const through = Object.fromEntries(streams.map((s) => [s, this.#through.get(s) ?? 0]));
      void this.#serial.run(() => this.#ackAndDrain(through));
    });
  }

  async #ackAndDrain(through: Record<string, number>): Promise<void> {
    try {
      const next = await this.#ack(through);
      if (next) await this.#drain(next);
    } catch (error) {
      // The next connection's first page starts over from the server's cursors.
      this.deps.failed?.(error);
    }
  }

  async #drain(first: PageWire): Promise<void> {
    let page = first;
    for (;;) {
      if (this.#stopped) return;
      for (const event of page.events) await this.deps.handle(event);
      const moved = Object.entries(page.through).some(
        ([stream, seq]) => seq > (this.#through.get(stream) ?? -1),
      );
      for (const [stream, seq] of Object.entries(page.through))
        this.#through.set(stream, Math.max(seq, this.#through.get(stream) ?? 0));
      if (!page.more && (!moved || Object.keys(page.through).length === 0)) break;
      if (page.retryAfterMs)
        await new Promise<void>((resolve) => this.deps.clock.setTimer(page.retryAfterMs!, resolve));
      const next = await this.#ack(page.through);
      if (!next) return;
      page = next;
      // An empty last page that covers nothing new ends the sequence without another ack.
      if (!page.more && page.events.length === 0 && !this.#movesBeyond(page.through)) break;
    }
    this.deps.settled?.();
  }

  #movesBeyond(through: Readonly<Record<string, number>>): boolean {
    return Object.entries(through).some(([stream, seq]) => seq > (this.#through.get(stream) ?? -1));
  }

  /** The next page, or undefined when the connection dropped (its successor's page goes on). */
  async #ack(through: Readonly<Record<string, number>>): Promise<PageWire | undefined> {
    if (Object.keys(through).length === 0) return undefined;
    try {
      const reply = await this.deps.ack(through);
      return readPage(reply.page);
    } catch (error) {
      if (error instanceof CipherlineError && (error.code === 'OFFLINE' || error.code === 'CLOSED'))
        return undefined;
      throw error;
    }
  }
}
