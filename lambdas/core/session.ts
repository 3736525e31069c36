/** Binding a connection to a user, and the catch-up a device gets when it binds. */
import { createHash, randomBytes } from 'node:crypto';
import { SESSION_TOKEN_BYTES } from '../../protocol/commands';
import { ProtocolError } from '../../protocol/errors';
import { WS_LIMITS } from '../../protocol/limits';
import type { RouteContext } from '../runtime/route';
import type { ServerDeps } from '../runtime/deps';
import type { Connection } from '../stores/ports';
import { issueDeviceCredential } from './device-credentials';
import { inboxEvent } from './inbox-events';
import type { ServerLimits } from './limits';

/** Items pushed per catch-up page; the device's `ack` pulls the next page. */
export const CATCH_UP_PAGE = 100;

export const hashToken = (token: string): string =>
  createHash('sha256').update(token).digest('hex');

export const newSessionToken = (): string => randomBytes(SESSION_TOKEN_BYTES).toString('base64url');

export { toMessageEvent } from './inbox-events';

/** The user of this connection, or UNAUTHENTICATED: every route but signup/signin/resume needs one. */
export async function requireUser(deps: ServerDeps, context: RouteContext): Promise<Connection> {
  const connection = await deps.connections.get(context.connectionId, deps.now());
  if (!connection)
    throw new ProtocolError(
      'UNAUTHENTICATED',
      'Sign in first: send signup, signin or resume on this connection.',
    );
  return connection;
}

/**
 * Pushes the next page of this device's inbox after `cursor`, in order; returns how many were
 * pushed. A page of skipped numbers only (nothing for the device to ack) is read past.
 */
export async function pushInboxPage(
  deps: ServerDeps,
  context: RouteContext,
  userId: string,
  cursor: number,
): Promise<number> {
  for (let after = cursor; ;) {
    const items = await deps.inbox.after(userId, after, CATCH_UP_PAGE, deps.now());
    let pushed = 0;
    for (const item of items) {
      // A group message's item is a pointer: inboxEvent reads its body (stored once).
      const event = await inboxEvent(deps, item);
      if (event) {
        await context.push(event);
        pushed++;
      }
    }
    if (pushed > 0 || items.length < CATCH_UP_PAGE) return pushed;
    after = items.at(-1)!.seq;
  }
}

export interface BoundSession {
  userId: string;
  deviceId: string;
  token: string;
  expiresAt: number;
  pending: number;
  /** After signup and signin: the device's new credential (lambdas/core/device-credentials.ts). */
  deviceCredential?: string;
}

export const sessionEnded = () =>
  new ProtocolError(
    'UNAUTHENTICATED',
    'This session is unknown, has expired or was ended (signed out, device removed or password changed). Sign in again.',
  );

/** A session ends `sessionIdleMs` after its last signin or resume, and never after the cap. */
export const sessionExpiry = (limits: ServerLimits, issuedAt: number, now: number): number =>
  Math.min(now + limits.sessionIdleMs, issuedAt + limits.sessionMaxMs);

/**
 * Binds the connection to (user, device) and pushes the first page of what the device missed.
 * `stillValid`, checked after the bind, refuses a session that was ended meanwhile: whoever ended
 * it either saw this connection bound (and closed it) or ended it before this check.
 */
export async function bindConnection(
  deps: ServerDeps,
  context: RouteContext,
  session: { userId: string; deviceId: string; token: string; expiresAt: number },
  stillValid?: () => Promise<boolean>,
): Promise<BoundSession> {
  const now = deps.now();
  await deps.connections.bind({
    connectionId: context.connectionId,
    userId: session.userId,
    deviceId: session.deviceId,
    tokenHash: hashToken(session.token),
    connectedAt: now,
    expiresAt: now + WS_LIMITS.maxConnectionMs,
  });
  if (stillValid && !(await stillValid())) {
    await deps.connections.remove(context.connectionId);
    throw sessionEnded();
  }
  const cursor = await deps.counters.getCursor(session.userId, session.deviceId);
  const pending = await deps.inbox.countAfter(session.userId, cursor, now);
  await pushInboxPage(deps, context, session.userId, cursor);
  return {
    userId: session.userId,
    deviceId: session.deviceId,
    token: session.token,
    expiresAt: session.expiresAt,
    pending,
  };
}

/**
 * After a signup or a signin that verified the auth key: the device gets a new credential (the
 * one it presented, if any, is replaced), a new session, and its catch-up.
 */
export async function openSession(
  deps: ServerDeps,
  context: RouteContext,
  userId: string,
  deviceId: string,
  stillValid?: () => Promise<boolean>,
): Promise<BoundSession> {
  const now = deps.now();
  const deviceCredential = await issueDeviceCredential(deps, userId, deviceId, now);
  const token = newSessionToken();
  const expiresAt = sessionExpiry(deps.limits, now, now);
  await deps.sessions.create({
    tokenHash: hashToken(token),
    userId,
    deviceId,
    issuedAt: now,
    expiresAt,
  });
  const bound = await bindConnection(
    deps,
    context,
    { userId, deviceId, token, expiresAt },
    stillValid,
  );
  return { ...bound, deviceCredential };
}
