/** `signup`: a new account (a name not taken, the address's hourly allowance), then a session. */
import { type SessionReply, SignupFrame } from '../../protocol/commands';
import { ProtocolError } from '../../protocol/errors';
import { checkUsername } from '../../protocol/username';
import { commandHandler } from '../runtime/command-handler';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import { deviceCredentialKey } from '../runtime/secrets';
import { hashAuthKey } from '../shared/passwords';
import { reserveSignup } from '../shared/rate-limits';
import { openSession } from '../shared/sessions';

export async function signup(
  deps: ServerDeps,
  frame: SignupFrame,
  context: RouteContext,
): Promise<SessionReply> {
  const name = checkUsername(frame.username);
  if (!name.ok) throw new ProtocolError('BAD_REQUEST', `Choose another username: ${name.reason}.`);
  await reserveSignup(deps, context.sourceIp, deps.now());
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
  await deps.mailboxes.create(name.username);
  return openSession(deps, context, name.username, frame.deviceId);
}

export const handler = commandHandler('signup', SignupFrame, signup, { deviceCredentialKey });
