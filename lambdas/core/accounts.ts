/** signup, signin and resume: the only routes an unbound connection may call (besides ping). */
import type { ResumeFrame, SigninFrame, SignupFrame } from '../../protocol/commands';
import { ProtocolError } from '../../protocol/errors';
import { checkUsername } from '../../protocol/username';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import { authKeyMatches, burnAuthCheck, hashAuthKey } from './passwords';
import { bindConnection, hashToken, openSession, type BoundSession } from './session';
import { assertSigninAllowed, clearSigninFailures, recordSigninFailure } from './throttle';

const WRONG_CREDENTIALS = 'Wrong username or password.';

export async function signup(
  deps: ServerDeps,
  frame: SignupFrame,
  context: RouteContext,
): Promise<BoundSession> {
  const name = checkUsername(frame.username);
  if (!name.ok) throw new ProtocolError('BAD_REQUEST', `Choose another username: ${name.reason}.`);
  const { salt, hash } = await hashAuthKey(Buffer.from(frame.authKey, 'base64'));
  const created = await deps.users.create({
    userId: name.username,
    authSalt: salt,
    authHash: hash,
    createdAt: deps.now(),
  });
  if (!created)
    throw new ProtocolError(
      'CONFLICT',
      `The username "${name.username}" is taken. Choose another.`,
    );
  return openSession(deps, context, name.username, frame.deviceId);
}

export async function signin(
  deps: ServerDeps,
  frame: SigninFrame,
  context: RouteContext,
): Promise<BoundSession> {
  const name = checkUsername(frame.username);
  // A name that cannot exist gets the same answer as a wrong password.
  const userId = name.ok ? name.username : frame.username.toLowerCase();
  await assertSigninAllowed(deps.counters, userId, context.sourceIp, deps.now());
  const user = name.ok ? await deps.users.get(userId) : undefined;
  const authKey = Buffer.from(frame.authKey, 'base64');
  const valid = user
    ? await authKeyMatches(authKey, user.authSalt, user.authHash)
    : await burnAuthCheck(authKey);
  if (!valid) {
    await recordSigninFailure(deps.counters, userId, context.sourceIp, deps.now());
    throw new ProtocolError('INVALID_CREDENTIALS', WRONG_CREDENTIALS);
  }
  await clearSigninFailures(deps.counters, userId);
  return openSession(deps, context, userId, frame.deviceId);
}

export async function resume(
  deps: ServerDeps,
  frame: ResumeFrame,
  context: RouteContext,
): Promise<BoundSession> {
  const session = await deps.sessions.get(hashToken(frame.token), deps.now());
  if (!session || session.deviceId !== frame.deviceId) {
    throw new ProtocolError(
      'UNAUTHENTICATED',
      'This session is unknown or has expired. Sign in again.',
    );
  }
  return bindConnection(deps, context, {
    userId: session.userId,
    deviceId: session.deviceId,
    token: frame.token,
    expiresAt: session.expiresAt,
  });
}
