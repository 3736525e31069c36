/**
 * A client that follows the catch-up contract (protocol/catch-up.ts) the way a client author
 * would: process a page, ack its `through`, repeat while `more`; after a push, ack that stream
 * with the last `through` to get the page that confirms it. It records what it processed and
 * checks each page as it goes (numbers in order per stream, at most 100 events).
 */
import { expect } from 'vitest';
import { PAGE_MAX_EVENTS } from '../../protocol/catch-up';
import type { TestClient } from '../../tools/ws-client';
import { isDurable, type WireEvent, type WirePage } from '../../tools/wire-events';

/** Longest a test waits on `retryAfterMs` (a number still being written is pushed when written). */
const MAX_RETRY_WAIT_MS = 2_000;

export class CatchUpClient {
  /** Every durable event processed, from pages and pushes, duplicates dropped, in order. */
  readonly processed: WireEvent[] = [];
  readonly pages: WirePage[] = [];
  /** Duplicates that were dropped (by type and message id). */
  duplicates = 0;
  /** The last `through` of each stream, from pages only. */
  readonly through: Record<string, number> = {};
  private readonly seen = new Set<string>();

  constructor(public client: TestClient) {}

  private process(event: WireEvent): void {
    const key = `${event.type}:${event.messageId}`;
    if (this.seen.has(key)) {
      this.duplicates++;
      return;
    }
    this.seen.add(key);
    this.processed.push(event);
  }

  private take(page: WirePage): void {
    this.pages.push(page);
    expect(page.events.length).toBeLessThanOrEqual(PAGE_MAX_EVENTS);
    const last: Record<string, number> = {};
    for (const event of page.events) {
      expect(event.seq, 'a page event has its number').toEqual(expect.any(Number));
      expect(event.seq!).toBeGreaterThan(last[event.stream] ?? -1);
      expect(event.seq!).toBeLessThanOrEqual(page.through[event.stream]!);
      last[event.stream] = event.seq!;
      this.process(event);
    }
    Object.assign(this.through, page.through);
  }

  async ack(through: Record<string, number>): Promise<Record<string, unknown>> {
    const reply = await this.client.request('ack', { through });
    if (reply.type !== 'ok') throw new Error(`ack failed: ${JSON.stringify(reply)}`);
    return reply;
  }

  /** Processes a page and every page after it, acking each `through`, until one says no more. */
  async follow(first: WirePage): Promise<void> {
    let page = first;
    for (;;) {
      this.take(page);
      if (!page.more) return;
      if (page.retryAfterMs)
        await new Promise((r) => setTimeout(r, Math.min(page.retryAfterMs!, MAX_RETRY_WAIT_MS)));
      page = (await this.ack(page.through)).page as WirePage;
    }
  }

  /** Processes the pushes queued so far; acks each pushed stream with its last `through`, and follows. */
  async handlePushes(): Promise<number> {
    const pushed = this.client.takeQueued(isDurable) as WireEvent[];
    for (const event of pushed) {
      expect(event.seq, 'a push carries no number').toBeUndefined();
      this.process(event);
    }
    const streams = [...new Set(pushed.map((event) => event.stream))];
    if (streams.length > 0) {
      const through = Object.fromEntries(streams.map((s) => [s, this.through[s] ?? 0]));
      await this.follow((await this.ack(through)).page as WirePage);
    }
    return pushed.length;
  }

  /** Handles pushes until none has arrived for `quietMs`. */
  async settle(quietMs = 150): Promise<void> {
    for (;;) {
      if ((await this.handlePushes()) > 0) continue;
      const more = await this.client
        .waitFor(isDurable, quietMs)
        .then((event) => [event])
        .catch(() => []);
      if (more.length === 0) return;
      this.process(more[0] as WireEvent);
      const stream = more[0]!.stream as string;
      await this.follow((await this.ack({ [stream]: this.through[stream] ?? 0 })).page as WirePage);
    }
  }

  /** The message ids processed, of one event type. */
  idsOf(type: string): string[] {
    return this.processed.filter((event) => event.type === type).map((event) => event.messageId);
  }
}
