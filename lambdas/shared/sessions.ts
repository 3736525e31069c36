/** Binding a connection to a user and device, the caps on connections, and the first page. */
import { createHash, randomBytes } from 'node:crypto';
import { SESSION_TOKEN_BYTES, type SessionReply } from '../../protocol/commands';
import { ProtocolError } from '../../protocol/errors';
import { WS_LIMITS } from '../../protocol/limits';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import type { Connection } from '../stores/connections';
import type { MailboxConnection } from '../stores/mailboxes';
import { servePage } from './catch-up';
import { issueDeviceCredential } from './device-credentials';
import type { ServerLimits } from './limits';

/**
 * Live connections per user: binding one more closes the oldest. Each device has at most one (its
 * new connection closes the old), so one stolen or buggy token cannot make every delivery to its
 * user cost a thousand pushes.
 */
export const USER_CONNECTION_CAP = 10;

export const hashToken = (token: string): string =>
  createHash('sha256').update(token).digest('hex');

export const newSessionToken = (): string => randomBytes(SESSION_TOKEN_BYTES).toString('base64url');

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

/** A connection that is gone (closed, or answered 410): out of its user's mailbox, and unbound. */
export async function forgetConnection(
  deps: ServerDeps,
  userId: string,
  connectionId: string,
): Promise<void> {
  await Promise.all([
    deps.mailboxes.removeConnections(userId, [connectionId]),
    deps.connections.remove(connectionId),
  ]);
}

/** `$disconnect`: a bound connection leaves its user's mailbox; an unbound one has nothing to forget. */
export async function connectionClosed(deps: ServerDeps, connectionId: string): Promise<void> {
  const connection = await deps.connections.get(connectionId, deps.now());
  if (connection) await forgetConnection(deps, connection.userId, connectionId);
}

/**
 * The connections binding `mine` makes surplus: the device's older ones, the user's oldest beyond
 * the cap, and expired ones still listed.
 */
export function surplusConnections(
  listed: readonly MailboxConnection[],
  mine: MailboxConnection,
  now: number,
): MailboxConnection[] {
  const others = listed.filter((c) => c.connectionId !== mine.connectionId);
  const expired = others.filter((c) => c.expiresAt <= now);
  const live = others.filter((c) => c.expiresAt > now);
  const sameDevice = live.filter((c) => c.deviceId === mine.deviceId);
  const newestFirst = live
    .filter((c) => c.deviceId !== mine.deviceId)
    .sort((a, b) => b.connectedAt - a.connectedAt);
  return [...expired, ...sameDevice, ...newestFirst.slice(USER_CONNECTION_CAP - 1)];
}

/** Closes surplus connections; the close never fails the sign-in (their $disconnect cleans up too). */
async function closeConnections(
  deps: ServerDeps,
  context: RouteContext,
  userId: string,
  surplus: readonly MailboxConnection[],
): Promise<void> {
  if (surplus.length === 0) return;
  const ids = surplus.map((c) => c.connectionId);
  try {
    await deps.mailboxes.removeConnections(userId, ids);
    await Promise.all(
      ids.map(async (id) => {
        await deps.connections.remove(id);
        await context.close(id);
      }),
    );
  } catch (error) {
    context.log.warn('closing surplus connections failed', { error: (error as Error).name });
  }
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
 * Binds the connection to (user, device): first into the user's mailbox, so that a delivery that
 * looks it up from now on pushes to it, then the connection's row, which makes it bound. Closes
 * what the caps make surplus, and answers the first page of what the device has not acknowledged.
 * `stillValid`, checked after the bind, refuses a session that was ended meanwhile: whoever ended
 * it either saw this connection bound (and closed it) or ended it before this check.
 */
export async function bindConnection(
  deps: ServerDeps,
  context: RouteContext,
  session: { userId: string; deviceId: string; token: string; expiresAt: number },
  stillValid?: () => Promise<boolean>,
): Promise<SessionReply> {
  const now = deps.now();
  const mine = {
    connectionId: context.connectionId,
    deviceId: session.deviceId,
    connectedAt: now,
    expiresAt: now + WS_LIMITS.maxConnectionMs,
  };
  const listed = await deps.mailboxes.addConnection(session.userId, mine);
  await deps.connections.bind({
    ...mine,
    userId: session.userId,
    tokenHash: hashToken(session.token),
  });
  if (stillValid && !(await stillValid())) {
    await forgetConnection(deps, session.userId, context.connectionId);
    throw sessionEnded();
  }
  const [served] = await Promise.all([
    servePage(deps, session, context.connectionId),
    closeConnections(deps, context, session.userId, surplusConnections(listed, mine, now)),
  ]);
  return {
    userId: session.userId,
    deviceId: session.deviceId,
    token: session.token,
    expiresAt: session.expiresAt,
    page: served.page,
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
): Promise<SessionReply> {
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
