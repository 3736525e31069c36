/**
 * Fixed-window limits on counters with an expiry: per-user request rates, sign-ups per source
 * address, upload bytes per user and day. The values are the invocation's limits (./limits.ts).
 */
import { ProtocolError } from '../../protocol/errors';
import type { ServerDeps } from '../runtime/deps';
import { addressGroup } from './address';
import type { RatedAction } from './limits';

const MINUTE_MS = 60_000;

const HOUR_MS = 60 * MINUTE_MS;

const DAY_MS = 24 * HOUR_MS;

const GIB = 1024 * 1024 * 1024;

/** Counts the request in this minute's window; RATE_LIMITED past the action's limit. */
export async function assertWithinRate(
  deps: Pick<ServerDeps, 'rateLimits' | 'limits'>,
  action: RatedAction,
  userId: string,
  now: number,
  amount = 1,
): Promise<void> {
  const minute = Math.floor(now / MINUTE_MS);
  const { count } = await deps.rateLimits.increment(
    `rate#${action}#${userId}#${minute}`,
    (minute + 2) * MINUTE_MS,
    amount,
  );
  if (count > deps.limits.perMinute[action]) {
    throw new ProtocolError(
      'RATE_LIMITED',
      `Too many ${action === 'keyShares' ? 'key-shares' : `${action} requests`}. Wait a minute, then try again.`,
    );
  }
}

/** Takes one of this hour's sign-ups of the caller's address (a whole IPv6 /64 counts as one). */
export async function reserveSignup(
  deps: Pick<ServerDeps, 'rateLimits' | 'limits'>,
  sourceIp: string,
  now: number,
): Promise<void> {
  const hour = Math.floor(now / HOUR_MS);
  const max = deps.limits.signupsPerAddressPerHour;
  const { added } = await deps.rateLimits.addWithin(
    `signup#${addressGroup(sourceIp)}#${hour}`,
    1,
    max,
    (hour + 2) * HOUR_MS,
  );
  if (!added) {
    const minutes = Math.ceil(((hour + 1) * HOUR_MS - now) / MINUTE_MS);
    throw new ProtocolError(
      'RATE_LIMITED',
      `Too many new accounts from your network (${max} an hour). Try again in ${minutes} min.`,
    );
  }
}

/** Counts `size` bytes against the user's upload quota of this UTC day. */
export async function reserveUploadBytes(
  deps: Pick<ServerDeps, 'rateLimits' | 'limits'>,
  userId: string,
  size: number,
  now: number,
): Promise<void> {
  const day = Math.floor(now / DAY_MS);
  const max = deps.limits.uploadBytesPerDay;
  const { added, total } = await deps.rateLimits.addWithin(
    `upload-bytes#${userId}#${day}`,
    size,
    max,
    (day + 2) * DAY_MS,
  );
  if (!added) {
    const hours = Math.ceil(((day + 1) * DAY_MS - now) / HOUR_MS);
    throw new ProtocolError(
      'RATE_LIMITED',
      `Daily upload quota reached: ${formatGib(total)} of ${formatGib(max)} GiB used today, and this file needs ${formatGib(size)} GiB more. It resets at midnight UTC (in ${hours} h).`,
    );
  }
}

const formatGib = (bytes: number) => (bytes / GIB).toFixed(bytes < GIB ? 3 : 1);
