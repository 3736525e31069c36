/**
 * Fed by the unbound-connection queue. A connection starts unbound; it may only call signup,
 * signin and resume, and is closed when it has not bound itself within a short grace period
 * (`unboundGraceMs` of lambdas/shared/limits.ts), so idle anonymous sockets cannot pile up.
 */
import type { Context, SQSEvent } from 'aws-lambda';
import type { UnboundCheck } from '../runtime/delay-queue';
import { type ServerDeps, serverDeps } from '../runtime/deps';
import { localAccessOf } from '../runtime/env';
import { log } from '../runtime/log';
import { deleteConnection, managementClient } from '../runtime/management-api';

/** Closes the connection unless it is bound by now. Returns true when it closed it. */
export async function closeIfUnbound(
  deps: ServerDeps,
  connectionId: string,
  close: (connectionId: string) => Promise<void>,
): Promise<boolean> {
  // Past the cache: this container may have seen it bound before another one unbound it.
  if (await deps.connections.getFresh(connectionId, deps.now())) return false;
  await close(connectionId);
  return true;
}

/** Fed by the unbound-connection queue: closes each connection that did not sign in in time. */
export const handler = async (event: SQSEvent, context?: Context): Promise<void> => {
  const deps = serverDeps(context);
  for (const record of event.Records) {
    const check = JSON.parse(record.body) as UnboundCheck;
    const client = managementClient(check.managementEndpoint, localAccessOf(context));
    const closed = await closeIfUnbound(deps, check.connectionId, (id) =>
      deleteConnection(id, client),
    );
    if (closed) log.info('closed unbound connection', { connectionId: check.connectionId });
  }
};
