/** The real stores of the in-process local stack, with some replaced (fault injection, a fixed clock). */
import { hashToken, newSessionToken } from '../../lambdas/shared/sessions';
import { serverDeps, type ServerDeps } from '../../lambdas/runtime/deps';
import {
  deleteConnection,
  managementClient,
  postToConnection,
} from '../../lambdas/runtime/management-api';
import { requestLog } from '../../lambdas/runtime/log';
import type { RouteContext } from '../../lambdas/runtime/route';
import type { Connection, ConnectionStore } from '../../lambdas/stores/connections';

export function depsWith(overrides: Partial<ServerDeps>): ServerDeps {
  const real = serverDeps();
  return {
    users: overrides.users ?? real.users,
    sessions: overrides.sessions ?? real.sessions,
    devices: overrides.devices ?? real.devices,
    connections: overrides.connections ?? real.connections,
    mailboxes: overrides.mailboxes ?? real.mailboxes,
    inbox: overrides.inbox ?? real.inbox,
    rateLimits: overrides.rateLimits ?? real.rateLimits,
    deviceCursors: overrides.deviceCursors ?? real.deviceCursors,
    groups: overrides.groups ?? real.groups,
    memberships: overrides.memberships ?? real.memberships,
    groupEpochs: overrides.groupEpochs ?? real.groupEpochs,
    groupLog: overrides.groupLog ?? real.groupLog,
    blobs: overrides.blobs ?? real.blobs,
    blobObjects: overrides.blobObjects ?? real.blobObjects,
    limits: overrides.limits ?? real.limits,
    deviceCredentialKey: overrides.deviceCredentialKey ?? (() => real.deviceCredentialKey()),
    now: overrides.now ?? (() => Date.now()),
  };
}

/** The real connections, plus one bound connection that exists only here (a core called directly). */
export function withBoundConnection(real: ConnectionStore, bound: Connection): ConnectionStore {
  return {
    bind: (connection) => real.bind(connection),
    get: async (connectionId, now) =>
      connectionId === bound.connectionId ? bound : real.get(connectionId, now),
    getFresh: async (connectionId, now) =>
      connectionId === bound.connectionId ? bound : real.getFresh(connectionId, now),
    remove: (connectionId) => real.remove(connectionId),
  };
}

/** A route context for a core called directly, pushing through the local gateway's @connections. */
export function directContext(managementApi: string, connectionId: string): RouteContext {
  return {
    connectionId,
    requestId: 'test-request',
    sourceIp: '127.0.0.1',
    receivedAt: Date.now(),
    log: requestLog('test-request', false),
    push: (event, target = connectionId) => postToConnection(managementApi, target, event),
    close: (target) => deleteConnection(target, managementClient(managementApi)),
    closeAfterReply: () => Promise.reject(new Error('a direct call has no reply to wait for')),
  };
}

/**
 * Users made straight through the stores (no scrypt: the auth hash is a placeholder nobody can
 * sign in with), each with a session token to `resume` with. For tests that need many users.
 */
export async function quickUsers(
  names: readonly string[],
): Promise<{ username: string; deviceId: string; token: string }[]> {
  const deps = serverDeps();
  return Promise.all(
    names.map(async (username) => {
      const now = Date.now();
      await deps.users.create({ userId: username, authSalt: '-', authHash: '-', createdAt: now });
      await deps.mailboxes.create(username);
      const token = newSessionToken();
      const deviceId = `dev-${username}`;
      // Its device, as a sign-in makes it: resume checks the session began after it did.
      await deps.devices.signedIn(username, deviceId, `quick-${username}`, now);
      await deps.sessions.create({
        tokenHash: hashToken(token),
        userId: username,
        deviceId,
        issuedAt: now,
        expiresAt: now + 3_600_000,
      });
      return { username, deviceId, token };
    }),
  );
}

/** Runs a core for a user as if on a bound connection of its own (no WebSocket needed). */
export function asUser(managementApi: string, userId: string) {
  const connectionId = `direct-${userId}`;
  const deps = depsWith({
    connections: withBoundConnection(serverDeps().connections, {
      connectionId,
      userId,
      deviceId: `direct-${userId}`,
      connectedAt: 0,
      expiresAt: Number.MAX_SAFE_INTEGER,
    }),
  });
  return { deps, context: directContext(managementApi, connectionId) };
}
