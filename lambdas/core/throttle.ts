/**
 * Sign-in back-off and per-user rate limits, on counters with an expiry. Failed sign-ins back
 * off per account and per source address: after a few free attempts each further one must wait
 * twice as long as the last (capped), so nobody can lock a victim out for good, and the wait is
 * checked before any scrypt work is spent.
 */
import { ProtocolError } from '../../protocol/errors';
import type { CounterStore } from '../stores/ports';

export const SIGNIN_BACKOFF = {
  /** Failures allowed before waits begin: per account, and per source address (higher: many users share a NAT). */
  freeAttempts: 5,
  freeAttemptsPerAddress: 20,
  baseDelayMs: 1000,
  maxDelayMs: 15 * 60 * 1000,
  windowMs: 60 * 60 * 1000,
} as const;

const failureKeys = (userId: string, sourceIp: string) => [
  { key: `fail#user#${userId}`, free: SIGNIN_BACKOFF.freeAttempts },
  { key: `fail#ip#${sourceIp}`, free: SIGNIN_BACKOFF.freeAttemptsPerAddress },
];

/** The wait still owed after `failures` failures, the last at `lastAt`, when `free` failures cost nothing. */
export function backoffRemainingMs(
  failures: number,
  lastAt: number,
  now: number,
  free: number = SIGNIN_BACKOFF.freeAttempts,
): number {
  if (failures < free) return 0;
  const delay = Math.min(
    SIGNIN_BACKOFF.maxDelayMs,
    SIGNIN_BACKOFF.baseDelayMs * 2 ** (failures - free),
  );
  return Math.max(0, lastAt + delay - now);
}

export async function assertSigninAllowed(
  counters: CounterStore,
  userId: string,
  sourceIp: string,
  now: number,
): Promise<void> {
  for (const { key, free } of failureKeys(userId, sourceIp)) {
    const failures = await counters.get(key, now);
    const wait = failures ? backoffRemainingMs(failures.count, failures.updatedAt, now, free) : 0;
    if (wait > 0) {
      throw new ProtocolError(
        'RATE_LIMITED',
        `Too many failed sign-ins. Wait ${Math.ceil(wait / 1000)} s, then try again.`,
      );
    }
  }
}

export async function recordSigninFailure(
  counters: CounterStore,
  userId: string,
  sourceIp: string,
  now: number,
): Promise<void> {
  await Promise.all(
    failureKeys(userId, sourceIp).map(({ key }) =>
      counters.increment(key, now + SIGNIN_BACKOFF.windowMs),
    ),
  );
}

export async function clearSigninFailures(counters: CounterStore, userId: string): Promise<void> {
  await counters.reset(`fail#user#${userId}`);
}

/** Fixed-window limits per user and action. */
export const RATE_LIMITS = {
  send: { perMinute: 120 },
  create: { perMinute: 10 },
  join: { perMinute: 30 },
  upload: { perMinute: 30 },
} as const;

export async function assertWithinRate(
  counters: CounterStore,
  action: keyof typeof RATE_LIMITS,
  userId: string,
  now: number,
): Promise<void> {
  const minute = Math.floor(now / 60_000);
  const { count } = await counters.increment(
    `rate#${action}#${userId}#${minute}`,
    (minute + 2) * 60_000,
  );
  if (count > RATE_LIMITS[action].perMinute) {
    throw new ProtocolError(
      'RATE_LIMITED',
      `Too many ${action} requests. Wait a minute, then try again.`,
    );
  }
}
