/** Binding a connection to a user, and the catch-up a device gets when it binds. */
import { createHash, randomBytes } from 'node:crypto';
import { SESSION_TOKEN_BYTES } from '../../protocol/commands';
import { ProtocolError } from '../../protocol/errors';
import { WS_LIMITS } from '../../protocol/limits';
import type { RouteContext } from '../runtime/route';
import type { ServerDeps } from '../runtime/deps';
import type { Connection } from '../stores/ports';
import { inboxEvent } from './inbox-events';

export const SESSION_LIFETIME_MS = 30 * 24 * 60 * 60 * 1000;
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
  token: string;
  expiresAt: number;
  pending: number;
}

/** Binds the connection to (user, device) and pushes the first page of what the device missed. */
export async function bindConnection(
  deps: ServerDeps,
  context: RouteContext,
  session: { userId: string; deviceId: string; token: string; expiresAt: number },
): Promise<BoundSession> {
  const now = deps.now();
  await deps.connections.bind({
    connectionId: context.connectionId,
    userId: session.userId,
    deviceId: session.deviceId,
    connectedAt: now,
    expiresAt: now + WS_LIMITS.maxConnectionMs,
  });
  const cursor = await deps.counters.getCursor(session.userId, session.deviceId);
  const pending = await deps.inbox.countAfter(session.userId, cursor, now);
  await pushInboxPage(deps, context, session.userId, cursor);
  return { userId: session.userId, token: session.token, expiresAt: session.expiresAt, pending };
}

export async function openSession(
  deps: ServerDeps,
  context: RouteContext,
  userId: string,
  deviceId: string,
): Promise<BoundSession> {
  const token = newSessionToken();
  const expiresAt = deps.now() + SESSION_LIFETIME_MS;
  await deps.sessions.create({ tokenHash: hashToken(token), userId, deviceId, expiresAt });
  return bindConnection(deps, context, { userId, deviceId, token, expiresAt });
}
