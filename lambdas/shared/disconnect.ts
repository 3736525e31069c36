/**
 * Closing a user's connections when its sessions end (`signout`, `devices remove`, `password`):
 * the device is removed or stamped first, then its live connections close (a resume racing with
 * it re-checks after binding: ./sessions.ts).
 */
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import type { Connection } from '../stores/connections';
import { forgetConnection } from './sessions';

/**
 * Unbinds and closes the user's live connections that `which` picks (this one after the reply);
 * returns how many. They are found in the user's mailbox (one read, never an index query), each
 * row read for its device and token (cached per container). A connection that closes meanwhile is
 * fine.
 */
export async function disconnect(
  deps: ServerDeps,
  context: RouteContext,
  userId: string,
  which: (connection: Connection) => boolean,
): Promise<number> {
  const now = deps.now();
  const listed = (await deps.mailboxes.connectionsOf([userId], now)).get(userId) ?? [];
  const rows = await Promise.all(
    listed.map(({ connectionId }) => deps.connections.get(connectionId, now)),
  );
  const picked = rows.filter((row): row is Connection => row !== undefined && which(row));
  await Promise.all(
    picked.map(async ({ connectionId }) => {
      await forgetConnection(deps, userId, connectionId);
      if (connectionId === context.connectionId) await context.closeAfterReply();
      else await context.close(connectionId);
    }),
  );
  return picked.length;
}
