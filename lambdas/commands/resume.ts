/** `resume`: a session token binds a new connection of its own device, sliding the session. */
import { ResumeFrame, type SessionReply } from '../../protocol/commands';
import { commandHandler } from '../runtime/command-handler';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import { bindConnection, hashToken, sessionEnded, sessionExpiry } from '../shared/sessions';

export async function resume(
  deps: ServerDeps,
  frame: ResumeFrame,
  context: RouteContext,
): Promise<SessionReply> {
  const now = deps.now();
  const tokenHash = hashToken(frame.token);
  const session = await deps.sessions.get(tokenHash, now);
  if (!session || session.deviceId !== frame.deviceId) throw sessionEnded();
  const { userId, deviceId, issuedAt } = session;
  // The device must still exist and its sessions must not have been ended since this one began.
  if (!(await deps.devices.resumed(userId, deviceId, issuedAt, now))) throw sessionEnded();
  const expiresAt = sessionExpiry(deps.limits, issuedAt, now);
  if (expiresAt > session.expiresAt) await deps.sessions.slide(tokenHash, expiresAt);
  const stillValid = async () => {
    const [device, current] = await Promise.all([
      deps.devices.get(userId, deviceId),
      deps.sessions.get(tokenHash, deps.now()),
    ]);
    return current !== undefined && device !== undefined && device.sessionsFrom <= issuedAt;
  };
  return bindConnection(
    deps,
    context,
    { userId, deviceId, token: frame.token, expiresAt: Math.max(expiresAt, session.expiresAt) },
    stillValid,
  );
}

export const handler = commandHandler('resume', ResumeFrame, resume);
