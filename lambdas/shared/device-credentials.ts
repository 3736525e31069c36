/**
 * Device credentials (OWASP's "device cookies"): after a signin the server gives the device a
 * credential, a MAC under a key that is in no table (lambdas/runtime/secrets.ts) over the user,
 * the device, the credential's id and its expiry. A later signin presenting it is judged by that
 * credential's own attempt counter, so strangers' failures never lock the owner's devices out.
 *
 * A credential counts only when its MAC verifies, it names this user (and this device, unless it
 * is a one-time invite for a new device), it has not expired and it is still the device's current
 * one (or the invite is unused). Anything else counts as no credential at all, so made-up
 * credentials do not buy fresh counters.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServerDeps } from '../runtime/deps';

/** What a credential says. `deviceId` is empty for a one-time invite (any new device). */
export interface CredentialClaims {
  readonly userId: string;
  readonly deviceId: string;
  readonly credentialId: string;
  readonly expiresAt: number;
}

const VERSION = 'dc1';

/** Binds the MAC to this use, so the key's MACs can never be taken for anything else. */
const DOMAIN = 'cipherline/device-credential/v1\n';

const MAC_CHARS = 43; // 32 bytes, base64url

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

const unb64 = (text: string) => Buffer.from(text, 'base64url').toString('utf8');

const mac = (key: Uint8Array, payload: string) =>
  createHmac('sha256', key).update(DOMAIN).update(payload).digest();

export const newCredentialId = (): string => randomBytes(16).toString('base64url');

/** `dc1.<user>.<device>.<id>.<expiry>.<mac>`: every field base64url or digits, so "." splits them. */
export function signCredential(key: Uint8Array, claims: CredentialClaims): string {
  const payload = [
    VERSION,
    b64(claims.userId),
    b64(claims.deviceId),
    claims.credentialId,
    String(claims.expiresAt),
  ].join('.');
  return `${payload}.${mac(key, payload).toString('base64url')}`;
}

/** The claims of a credential whose MAC verifies and that has not expired; else undefined. */
export function verifyCredential(
  key: Uint8Array,
  credential: string,
  now: number,
): CredentialClaims | undefined {
  const cut = credential.lastIndexOf('.');
  if (cut < 0 || credential.length - cut - 1 !== MAC_CHARS) return undefined;
  const payload = credential.slice(0, cut);
  const fields = payload.split('.');
  const presented = Buffer.from(credential.slice(cut + 1), 'base64url');
  if (fields.length !== 5 || presented.length !== 32) return undefined;
  // Constant time: an attacker learns nothing about the right MAC from how long a wrong one took.
  if (!timingSafeEqual(presented, mac(key, payload))) return undefined;
  const [version, user, device, credentialId, expiry] = fields as [string, ...string[]];
  const expiresAt = Number(expiry);
  if (version !== VERSION || !Number.isSafeInteger(expiresAt) || expiresAt <= now) return undefined;
  return { userId: unb64(user!), deviceId: unb64(device!), credentialId: credentialId!, expiresAt };
}

/** Makes a new credential the device's only valid one (creating the device) and returns its text. */
export async function issueDeviceCredential(
  deps: ServerDeps,
  userId: string,
  deviceId: string,
  now: number,
): Promise<string> {
  const credentialId = newCredentialId();
  await deps.devices.signedIn(userId, deviceId, credentialId, now);
  return signCredential(await deps.deviceCredentialKey(), {
    userId,
    deviceId,
    credentialId,
    expiresAt: now + deps.limits.deviceCredentialLifetimeMs,
  });
}

/** A one-time credential for a device that has not signed in yet. */
export async function issueInvite(
  deps: ServerDeps,
  userId: string,
  createdBy: string,
  now: number,
): Promise<{ credential: string; expiresAt: number }> {
  const credentialId = newCredentialId();
  const expiresAt = now + deps.limits.inviteLifetimeMs;
  await deps.devices.putInvite({ userId, credentialId, createdBy, createdAt: now, expiresAt });
  const key = await deps.deviceCredentialKey();
  return {
    credential: signCredential(key, { userId, deviceId: '', credentialId, expiresAt }),
    expiresAt,
  };
}

/** A presented credential that counts: the counter it is judged by, and what it is. */
export interface TrustedCredential {
  readonly claims: CredentialClaims;
  readonly kind: 'device' | 'invite';
  readonly counterKey: string;
}

/** The presented credential if it counts for this signin (see the top of this file); else undefined. */
export async function trustedCredential(
  deps: ServerDeps,
  credential: string,
  userId: string,
  deviceId: string,
  now: number,
): Promise<TrustedCredential | undefined> {
  const claims = verifyCredential(await deps.deviceCredentialKey(), credential, now);
  if (!claims || claims.userId !== userId) return undefined;
  const counterKey = `fail#cred#${claims.credentialId}`;
  if (claims.deviceId === '') {
    const invite = await deps.devices.getInvite(userId, claims.credentialId, now);
    return invite && { claims, kind: 'invite', counterKey };
  }
  if (claims.deviceId !== deviceId) return undefined;
  const device = await deps.devices.get(userId, deviceId);
  return device?.credentialId === claims.credentialId
    ? { claims, kind: 'device', counterKey }
    : undefined;
}

/** After repeated failures (or once an invite is used): the credential stops counting. */
export async function revokeTrusted(deps: ServerDeps, trusted: TrustedCredential): Promise<void> {
  const { userId, deviceId, credentialId } = trusted.claims;
  if (trusted.kind === 'invite') await deps.devices.removeInvite(userId, credentialId);
  else await deps.devices.revokeCredential(userId, deviceId, credentialId);
}
