/**
 * A connection starts unbound; it may only call signup, signin and resume, and is closed
 * when it has not bound itself within a short grace period (`unboundGraceMs` of ./limits.ts), so
 * idle anonymous sockets cannot pile up.
 */
import type { ServerDeps } from '../runtime/deps';

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
