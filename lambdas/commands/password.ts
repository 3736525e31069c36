/**
 * `password`: a signed-in device changes the account's auth key (the client derived both keys
 * from the old and the new password). Every other device's sessions and credentials end and
 * their connections close; this device keeps its session and gets a new credential. The client
 * then re-seals its key backup under the new backup key (`keys put-backup`).
 */
import { ProtocolError } from '../../protocol/errors';
import { type PasswordChangedReply, PasswordFrame } from '../../protocol/sessions';
import { commandHandler } from '../runtime/command-handler';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import { deviceCredentialKey } from '../runtime/secrets';
import { issueDeviceCredential } from '../shared/device-credentials';
import { disconnect } from '../shared/disconnect';
import { authKeyMatches, hashAuthKey } from '../shared/passwords';
import { requireUser } from '../shared/sessions';
import { attemptPolicy, reserveAttempt, tooManyAttempts } from '../shared/signin-attempts';

export async function changePassword(
  deps: ServerDeps,
  frame: PasswordFrame,
  context: RouteContext,
): Promise<PasswordChangedReply> {
  const me = await requireUser(deps, context);
  const now = deps.now();
  // A stolen session must not guess the password any faster than a signin could.
  const counterKey = `fail#password#${me.userId}#${me.deviceId}`;
  const policy = attemptPolicy(deps.limits, deps.limits.signinFreePerAccount);
  const reservation = await reserveAttempt(deps.rateLimits, counterKey, policy, now);
  if (!reservation.reserved) throw tooManyAttempts(reservation.waitMs);
  const user = await deps.users.get(me.userId);
  if (
    !user ||
    !(await authKeyMatches(Buffer.from(frame.authKey, 'base64'), user.authSalt, user.authHash))
  )
    throw new ProtocolError(
      'INVALID_CREDENTIALS',
      'The current password is wrong. Nothing was changed.',
    );
  await deps.rateLimits.reset(counterKey);
  const next = await hashAuthKey(Buffer.from(frame.newAuthKey, 'base64'));
  if (
    !(await deps.users.changeAuthKey(me.userId, user.authHash, {
      authSalt: next.salt,
      authHash: next.hash,
    }))
  )
    throw new ProtocolError(
      'CONFLICT',
      'The password was changed from another device meanwhile. Sign in with the new password.',
    );
  // After the new hash: a signin still hashing the old password re-checks it (./signin.ts).
  const others = (await deps.devices.list(me.userId)).filter((d) => d.deviceId !== me.deviceId);
  await Promise.all(others.map((d) => deps.devices.endSessions(me.userId, d.deviceId, now)));
  const disconnected = await disconnect(
    deps,
    context,
    me.userId,
    (connection) => connection.deviceId !== me.deviceId,
  );
  const deviceCredential = await issueDeviceCredential(deps, me.userId, me.deviceId, now);
  return { changed: true, deviceCredential, disconnected };
}

export const handler = commandHandler('password', PasswordFrame, changePassword, {
  deviceCredentialKey,
});
