/**
 * How far a page may go in one stream. Numbers are taken before their entries are written, so a
 * lower number can appear after a higher one: a page that covered a number still being written
 * would let the device's cursor pass it and lose it. A page therefore covers stored entries only,
 * and a missing number only once it is settled: an entry after it was stored longer ago than any
 * handler can run, so nobody is still writing it (a retry that lost the race, a handler that
 * crashed, or an entry past retention).
 */
import { IN_FLIGHT_MAX_MS } from '../timing';

export interface StoredNumber {
  readonly seq: number;
  /** When the entry was written, read after its number was taken; absent: long settled. */
  readonly storedAt?: number;
}

/** What one entry becomes in a page. */
export type EntryStep<E> =
  /** An event for the device, about `bytes` of JSON. */
  | { readonly kind: 'event'; readonly event: E; readonly bytes: number }
  /** Nothing for the device (a skipped number, an expired body): covered, not served. */
  | { readonly kind: 'pass' }
  /** Not complete yet (a key-share still being stored): stop before it until `readyAt`. */
  | { readonly kind: 'wait'; readonly readyAt: number };

/** What is left of a page's allowance; shared by every stream of the page. */
export class PageBudget {
  private taken = 0;
  constructor(
    private events: number,
    private bytes: number,
  ) {}

  /** Takes room for one event; the first event of a page always fits. */
  take(bytes: number): boolean {
    if (this.events < 1 || (this.taken > 0 && bytes > this.bytes)) return false;
    this.events--;
    this.bytes -= bytes;
    this.taken++;
    return true;
  }

  /** No room for another event (fixed costs such as `through` are spent with `spend`). */
  get exhausted(): boolean {
    return this.events < 1 || (this.taken > 0 && this.bytes <= 0);
  }

  get eventsLeft(): number {
    return this.events;
  }

  spend(bytes: number): void {
    this.bytes -= bytes;
  }
}

export interface StreamWalk<E> {
  /** The highest number covered: everything up to it was served or passed over. */
  readonly through: number;
  readonly events: E[];
  /** Stopped early: the page is full, or a number is still being written. */
  readonly stopped: boolean;
  /** When the number it stopped before will be settled (only when it waits for one). */
  readonly readyAt?: number;
}

/**
 * Walks a stream's stored entries after `start` (ascending), serving what the budget allows and
 * never covering an unsettled missing number or an entry that is not complete.
 */
export function walkStream<I extends StoredNumber, E>(
  start: number,
  entries: readonly I[],
  now: number,
  budget: PageBudget,
  step: (entry: I) => EntryStep<E>,
): StreamWalk<E> {
  let through = start;
  const events: E[] = [];
  for (const entry of entries) {
    if (entry.seq <= through) continue;
    // Numbers are taken in order: every missing one below was taken before this entry was stored.
    const settlesAt = (entry.storedAt ?? 0) + IN_FLIGHT_MAX_MS;
    if (entry.seq > through + 1 && settlesAt >= now)
      return { through, events, stopped: true, readyAt: settlesAt };
    const next = step(entry);
    if (next.kind === 'wait') return { through, events, stopped: true, readyAt: next.readyAt };
    if (next.kind === 'event') {
      if (!budget.take(next.bytes)) return { through, events, stopped: true };
      events.push(next.event);
    }
    through = entry.seq;
  }
  return { through, events, stopped: false };
}

/** The JSON size of an event as it goes into a reply (UTF-8 bytes). */
export const jsonBytes = (value: unknown): number =>
  new TextEncoder().encode(JSON.stringify(value)).length;
