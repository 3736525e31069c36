/**
 * The server never sees a password: clients send an auth key derived with Argon2id. We hash it
 * once more with scrypt (explicit maxmem) so a leaked users table does not let anyone sign in.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scryptAsync = promisify(scrypt) as (
  password: Buffer,
  salt: Buffer,
  keylen: number,
  options: object,
) => Promise<Buffer>;

/** N=2^15, r=8: 32 MiB and about 0.1 s per hash on this machine; maxmem leaves room for Node's own check. */
export const SCRYPT = { N: 2 ** 15, r: 8, p: 1, keyLength: 32, maxmem: 64 * 1024 * 1024 } as const;

export async function hashAuthKey(authKey: Uint8Array): Promise<{ salt: string; hash: string }> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(Buffer.from(authKey), salt, SCRYPT.keyLength, SCRYPT);
  return { salt: salt.toString('base64'), hash: hash.toString('base64') };
}

export async function authKeyMatches(
  authKey: Uint8Array,
  salt: string,
  expectedHash: string,
): Promise<boolean> {
  const hash = await scryptAsync(
    Buffer.from(authKey),
    Buffer.from(salt, 'base64'),
    SCRYPT.keyLength,
    SCRYPT,
  );
  return timingSafeEqual(hash, Buffer.from(expectedHash, 'base64'));
}

/** Work the same as a real check, so a missing account cannot be told from a wrong key by timing. */
export async function burnAuthCheck(authKey: Uint8Array): Promise<false> {
  await scryptAsync(Buffer.from(authKey), randomBytes(16), SCRYPT.keyLength, SCRYPT);
  return false;
}
