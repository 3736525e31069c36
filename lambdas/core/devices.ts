/**
 * `signout` and `devices` (list, remove, invite). A session counts only while its device exists
 * and did not end its sessions after the session began (lambdas/stores/devices.ts DeviceRecord), so
 * ending sessions never has to find them: it removes or stamps the device, then closes that
 * device's live connections (a resume racing with it re-checks after binding: ./session.ts).
 */
import { ProtocolError } from '../../protocol/errors';
import type {
  DeviceInviteReply,
  DeviceRemovedReply,
  DevicesFrame,
  DevicesListReply,
  SignoutFrame,
} from '../../protocol/sessions';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import type { Connection } from '../stores/connections';
import { issueInvite } from './device-credentials';
import { forgetConnection, requireUser } from './session';
import { assertWithinRate } from './throttle';

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

/** Ends this session: its token, this device's credential, and every connection bound with it. */
export async function signout(
  deps: ServerDeps,
  _frame: SignoutFrame,
  context: RouteContext,
): Promise<{ signedOut: true }> {
  const me = await requireUser(deps, context);
  await Promise.all([
    me.tokenHash && deps.sessions.revoke(me.tokenHash),
    deps.devices.setCredential(me.userId, me.deviceId, undefined),
  ]);
  await disconnect(
    deps,
    context,
    me.userId,
    (connection) =>
      connection.connectionId === context.connectionId ||
      (me.tokenHash !== undefined && connection.tokenHash === me.tokenHash),
  );
  return { signedOut: true };
}

export async function devices(
  deps: ServerDeps,
  frame: DevicesFrame,
  context: RouteContext,
): Promise<DevicesListReply | DeviceRemovedReply | DeviceInviteReply> {
  const me = await requireUser(deps, context);
  switch (frame.op) {
    case 'list': {
      const list = await deps.devices.list(me.userId);
      return {
        devices: list
          .map(({ deviceId, createdAt, lastSeenAt }) => ({
            deviceId,
            createdAt,
            lastSeenAt,
            current: deviceId === me.deviceId,
          }))
          .sort((a, b) => a.createdAt - b.createdAt),
      };
    }
    case 'remove': {
      // Removed first: from then on none of its sessions counts, whatever the closing does.
      if (!(await deps.devices.remove(me.userId, frame.deviceId)))
        throw new ProtocolError(
          'NOT_FOUND',
          `There is no device "${frame.deviceId}" on your account: list your devices to see their ids.`,
        );
      const disconnected = await disconnect(
        deps,
        context,
        me.userId,
        (connection) => connection.deviceId === frame.deviceId,
      );
      return { removed: frame.deviceId, disconnected };
    }
    case 'invite':
      await assertWithinRate(deps, 'invite', me.userId, deps.now());
      return issueInvite(deps, me.userId, me.deviceId, deps.now());
    default: {
      const unknownOp: never = frame;
      throw new ProtocolError('BAD_REQUEST', `Unknown devices operation ${String(unknownOp)}.`);
    }
  }
}
