/**
 * How far a device's cursor may move when it acks. Inbox numbers are allocated before their
 * items are written, so a lower number can appear after a higher one was delivered: a cursor
 * moved over a number still being written would hide that item from the device's next catch-up.
 * The cursor therefore moves over stored items only, and over a missing number only once it is
 * settled: an item after it was stored longer ago than any handler can run, so nobody is still
 * writing it (a retry that lost the race, a handler that crashed, or an item past retention).
 */
import { HANDLER_TIMEOUT_SECONDS } from '../../infra/resources';

/** Longer than any handler runs (its timeout), with room for clock skew between hosts. */
export const IN_FLIGHT_MAX_MS = HANDLER_TIMEOUT_SECONDS * 1000 + 30_000;

/**
 * An attempt that claimed a message id this long ago and has not stored its item died (no handler
 * outlives its timeout): a retry may take the message over at a new number, since a cursor may
 * cross the empty one once IN_FLIGHT_MAX_MS has passed (lambdas/stores/dynamo-inbox.ts).
 */
export const ATTEMPT_MAX_MS = HANDLER_TIMEOUT_SECONDS * 1000 + 2_000;

export interface StoredNumber {
  readonly seq: number;
  /** Absent on items written before the field existed: those are long settled. */
  readonly storedAt?: number;
}

/**
 * The new cursor for an ack of `acked`: `stored` are the live items after `cursor`, ascending.
 * Never past `acked`, never backwards, never over an unsettled missing number.
 */
export function settledCursor(
  cursor: number,
  stored: readonly StoredNumber[],
  acked: number,
  now: number,
): number {
  let settled = cursor;
  for (const item of stored) {
    if (item.seq > acked) break;
    const skipsMissing = item.seq > settled + 1;
    // Numbers are handed out in order, so every missing one below was allocated before this item was stored.
    if (skipsMissing && now - (item.storedAt ?? 0) <= IN_FLIGHT_MAX_MS) break;
    settled = item.seq;
  }
  return settled;
}
