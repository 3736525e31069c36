/**
 * Sign-in attempts are reserved before the password hash runs, one conditional write per counter
 * (a compare-and-swap on the counter's version), so concurrent frames are judged one after the
 * other against the allowance instead of all against the count they read at the same moment.
 * A reservation stands for a failure unless the attempt succeeds and gives it back.
 *
 * Past `free` reserved attempts, each further one must wait base × 2^n (capped) after the one
 * before it; counts start over a window after the first. There is no hard lockout, and the
 * owner's devices are judged by their own credential's counter (./device-credentials.ts).
 */
import { ProtocolError } from '../../protocol/errors';
import type { AttemptCounter, RateLimitStore } from '../stores/rate-limits';
import type { ServerLimits } from './limits';

export interface AttemptPolicy {
  /** Attempts that cost no wait. */
  readonly free: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly windowMs: number;
}

export const attemptPolicy = (limits: ServerLimits, free: number): AttemptPolicy => ({
  free,
  baseDelayMs: limits.signinBaseDelayMs,
  maxDelayMs: limits.signinMaxDelayMs,
  windowMs: limits.signinWindowMs,
});

/** Pure: when the attempt after the `count`-th may start, if the `count`-th was reserved `now`. */
export function nextAttemptAt(count: number, now: number, policy: AttemptPolicy): number {
  if (count < policy.free) return 0;
  return now + Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (count - policy.free));
}

/** How often a reservation re-reads a counter that another attempt changed meanwhile. */
const SWAP_ATTEMPTS = 4;

export type Reservation =
  /** `count`: the attempts reserved under the key with this one (failures and ones in flight). */
  | { readonly reserved: true; readonly count: number }
  | { readonly reserved: false; readonly waitMs: number };

/** Reserves one attempt under `key`, or says how long to wait. */
export async function reserveAttempt(
  counters: RateLimitStore,
  key: string,
  policy: AttemptPolicy,
  now: number,
): Promise<Reservation> {
  for (let attempt = 0; attempt < SWAP_ATTEMPTS; attempt++) {
    const seen = await counters.getAttempts(key, now);
    if (seen && seen.nextAt > now) return { reserved: false, waitMs: seen.nextAt - now };
    const count = (seen?.count ?? 0) + 1;
    const next: Omit<AttemptCounter, 'version'> = {
      count,
      nextAt: nextAttemptAt(count, now, policy),
      expiresAt: seen?.expiresAt ?? now + policy.windowMs,
    };
    if (await counters.swapAttempts(key, seen, next, now)) return { reserved: true, count };
    // Another attempt reserved first: a short random pause spreads the re-reads.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * (attempt + 1)));
  }
  // So many attempts at once that ours kept losing: not worth a password hash either.
  return { reserved: false, waitMs: policy.baseDelayMs };
}

export const tooManyAttempts = (waitMs: number) =>
  new ProtocolError(
    'RATE_LIMITED',
    `Too many sign-in attempts. Wait ${Math.max(1, Math.ceil(waitMs / 1000))} s, then try again.`,
  );
