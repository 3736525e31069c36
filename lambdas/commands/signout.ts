/** `signout`: ends this session, its device credential and every connection bound with it. */
import { SignoutFrame } from '../../protocol/sessions';
import { commandHandler } from '../runtime/command-handler';
import { scheduleCloseAfterReply } from '../runtime/delay-queue';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import { disconnect } from '../shared/disconnect';
import { requireUser } from '../shared/sessions';

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

export const handler = commandHandler('signout', SignoutFrame, signout, {
  scheduleClose: scheduleCloseAfterReply,
});
