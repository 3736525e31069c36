/**
 * A connection starts unbound; it may only call signup, signin, resume (and ping), and is closed
 * when it has not bound itself within a short grace period, so idle anonymous sockets cannot pile up.
 */
import type { ServerDeps } from '../runtime/deps';

export const UNBOUND_GRACE_MS_DEFAULT = 10_000;

/** Tests shorten the grace period through the environment; production uses the default. */
export const unboundGraceMs = (): number =>
  Number(process.env.UNBOUND_GRACE_MS ?? UNBOUND_GRACE_MS_DEFAULT);

/** Closes the connection unless it is bound by now. Returns true when it closed it. */
export async function closeIfUnbound(
  deps: ServerDeps,
  connectionId: string,
  close: (connectionId: string) => Promise<void>,
): Promise<boolean> {
  if (await deps.connections.get(connectionId, deps.now())) return false;
  await close(connectionId);
  return true;
}
