/**
 * Reconnection delays: exponential with "equal jitter" (half the ceiling fixed, half random), so
 * a thousand phones that lost the same server do not come back in one wave, and none retries
 * sooner than half the ceiling.
 */
export interface BackoffPolicy {
  /** Ceiling of the first retry. */
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 30_000, multiplier: 2 };

/** The delay before retry number `attempt` (1 for the first retry). */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, attempt - 1);
  const ceiling = Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** exponent);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
