/** `signin`: attempts reserved before the password hash runs, then a session with a new device credential. */
import { type SessionReply, SigninFrame } from '../../protocol/commands';
import { ProtocolError } from '../../protocol/errors';
import { checkUsername, normalizeName } from '../../protocol/username';
import { commandHandler } from '../runtime/command-handler';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import { deviceCredentialKey } from '../runtime/secrets';
import { addressGroup } from '../shared/address';
import {
  revokeTrusted,
  trustedCredential,
  type TrustedCredential,
} from '../shared/device-credentials';
import { authKeyMatches, burnAuthCheck } from '../shared/passwords';
import { openSession } from '../shared/sessions';
import { attemptPolicy, reserveAttempt, tooManyAttempts } from '../shared/signin-attempts';

const WRONG_CREDENTIALS = 'Wrong username or password.';

/**
 * Reserves this attempt before any password hash runs: with a credential that counts, on that
 * credential's own counter; without, on the address's and the account's. Returns how to settle
 * the reservations once the outcome is known.
 */
async function reserveSignin(
  deps: ServerDeps,
  userId: string,
  trusted: TrustedCredential | undefined,
  sourceIp: string,
  now: number,
): Promise<{ failed(): Promise<void>; succeeded(): Promise<void> }> {
  const limits = deps.limits;
  if (trusted) {
    const policy = attemptPolicy(limits, limits.signinFreePerCredential);
    const reservation = await reserveAttempt(deps.rateLimits, trusted.counterKey, policy, now);
    if (!reservation.reserved) throw tooManyAttempts(reservation.waitMs);
    return {
      failed: async () => {
        if (reservation.count >= limits.credentialRevokedAfterFailures)
          await revokeTrusted(deps, trusted);
      },
      succeeded: () => deps.rateLimits.reset(trusted.counterKey),
    };
  }
  const addressKey = `fail#ip#${addressGroup(sourceIp)}`;
  const accountKey = `fail#user#${userId}`;
  const byAddress = await reserveAttempt(
    deps.rateLimits,
    addressKey,
    attemptPolicy(limits, limits.signinFreePerAddress),
    now,
  );
  if (!byAddress.reserved) throw tooManyAttempts(byAddress.waitMs);
  const byAccount = await reserveAttempt(
    deps.rateLimits,
    accountKey,
    attemptPolicy(limits, limits.signinFreePerAccount),
    now,
  );
  if (!byAccount.reserved) {
    await deps.rateLimits.releaseAttempt(addressKey); // this attempt never ran
    throw tooManyAttempts(byAccount.waitMs);
  }
  return {
    failed: async () => undefined, // both reservations stand as failures
    // The account's failures are forgiven; the address keeps the others' (many users share a NAT).
    succeeded: async () => {
      await Promise.all([
        deps.rateLimits.reset(accountKey),
        deps.rateLimits.releaseAttempt(addressKey),
      ]);
    },
  };
}

export async function signin(
  deps: ServerDeps,
  frame: SigninFrame,
  context: RouteContext,
): Promise<SessionReply> {
  const name = checkUsername(frame.username);
  // A name that cannot exist gets the same answer as a wrong password.
  const userId = name.ok ? name.username : normalizeName(frame.username);
  const now = deps.now();
  const trusted = frame.deviceCredential
    ? await trustedCredential(deps, frame.deviceCredential, userId, frame.deviceId, now)
    : undefined;
  const attempt = await reserveSignin(deps, userId, trusted, context.sourceIp, now);
  const user = name.ok ? await deps.users.get(userId) : undefined;
  const authKey = Buffer.from(frame.authKey, 'base64');
  const valid = user
    ? await authKeyMatches(authKey, user.authSalt, user.authHash)
    : await burnAuthCheck(authKey);
  if (!valid) {
    await attempt.failed();
    throw new ProtocolError('INVALID_CREDENTIALS', WRONG_CREDENTIALS);
  }
  await attempt.succeeded();
  if (trusted?.kind === 'invite') await revokeTrusted(deps, trusted); // one time only
  // A password change that finished while we hashed ends this session as it ends the others.
  const hashStillCurrent = async () => (await deps.users.get(userId))?.authHash === user!.authHash;
  return openSession(deps, context, userId, frame.deviceId, hashStillCurrent);
}

export const handler = commandHandler('signin', SigninFrame, signin, { deviceCredentialKey });
