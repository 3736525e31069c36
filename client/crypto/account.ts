/**
 * Account secrets (DESIGN.md section 3): the password never leaves the device. Argon2id turns
 * password + a salt computed from the username into a 32-byte root; HKDF splits the root into
 * the auth key (sent at signup/signin, hashed again by the server) and the backup key (never
 * sent; it seals the key backup, see backup.ts).
 *
 * The salt is SHA-256("cipherline/v1" ‖ normalised username): deterministic, so no salt is
 * fetched from the server and a hostile server cannot serve one chosen to help an attack; unique
 * per username and per application, so no precomputed table applies.
 */
import { argon2id } from 'hash-wasm';
import { checkUsername } from '../../protocol/username';
import { CryptoError } from '../../protocol/crypto-error';
import { hkdf } from './primitives';
import { resolveKdfCost } from './kdf-settings';
import type { Argon2Cost } from './kdf-settings';
import { checkNewPassword } from './password-strength';
import { concatBytes, sha256, utf8, type Bytes } from '../../protocol/bytes';

/**
 * Argon2id itself, as a port: the PWA runs it in a Web Worker so the page keeps painting while
 * signing in; Node (and the default) runs it in this thread. Given the password bytes (already
 * NFKC-normalised), the salt and the resolved cost; resolves with the 32-byte root.
 */
export type Argon2idHasher = (input: {
  readonly password: Uint8Array;
  readonly salt: Uint8Array;
  readonly cost: Argon2Cost;
}) => Promise<Uint8Array>;

/** Argon2id in the calling thread (hash-wasm), the default hasher. */
export const argon2idInThread: Argon2idHasher = async ({ password, salt, cost }) =>
  argon2id({
    password,
    salt,
    parallelism: cost.parallelism,
    iterations: cost.iterations,
    memorySize: cost.memoryKiB,
    hashLength: 32,
    outputType: 'binary',
  });

export interface AccountKeys {
  /** Sent to the server at signup and signin in place of the password. */
  readonly authKey: Bytes;
  /** Never sent: encrypts the key backup the server stores. */
  readonly backupKey: Bytes;
}

// The username rule lives in protocol/ because the server applies it too.
export { USERNAME_PATTERN, checkUsername, type UsernameCheck } from '../../protocol/username';

/** The normalised username, or CryptoError BAD_INPUT with the reason. */
export function normaliseUsername(name: string): string {
  const check = checkUsername(name);
  if (!check.ok) throw new CryptoError('BAD_INPUT', check.reason);
  return check.username;
}

const SALT_DOMAIN = 'cipherline/v1';
const AUTH_INFO = 'cipherline/v1/auth';
const BACKUP_INFO = 'cipherline/v1/backup';

/** SHA-256("cipherline/v1" ‖ normalised username). */
export async function accountSalt(username: string): Promise<Bytes> {
  return sha256(concatBytes(utf8(SALT_DOMAIN), utf8(normaliseUsername(username))));
}

/**
 * Argon2id(password, accountSalt(username)) split by HKDF into auth key and backup key.
 * `cost` is for tests only (see kdf-settings.ts); leave it out everywhere else.
 * The password is NFKC-normalised (NIST SP 800-63B 5.1.1.2) so that the same password typed on
 * two keyboards that compose characters differently gives the same keys; it is not trimmed.
 */
export async function deriveAccountKeys(
  username: string,
  password: string,
  cost?: Argon2Cost,
  hasher: Argon2idHasher = argon2idInThread,
): Promise<AccountKeys> {
  const resolved = resolveKdfCost(cost);
  if (password.length === 0) throw new CryptoError('BAD_INPUT', 'the password is empty');
  const salt = await accountSalt(username);
  const root = await hasher({ password: utf8(password.normalize('NFKC')), salt, cost: resolved });
  if (root.length !== 32) throw new CryptoError('BAD_INPUT', 'the password hash is not 32 bytes');
  try {
    // Empty HKDF salt (RFC 5869: HashLen zeros): the root is already uniformly random.
    const noSalt = new Uint8Array(0);
    const [authKey, backupKey] = await Promise.all([
      hkdf(root, noSalt, utf8(AUTH_INFO), 32),
      hkdf(root, noSalt, utf8(BACKUP_INFO), 32),
    ]);
    return { authKey, backupKey };
  } finally {
    root.fill(0);
  }
}

/**
 * Signup and password change: refuses a weak password (WEAK_PASSWORD, with the reason; see
 * password-strength.ts) before deriving anything, so every client enforces the rule. The username
 * counts as a word a guesser tries first.
 */
export async function deriveNewAccountKeys(
  username: string,
  password: string,
  cost?: Argon2Cost,
  hasher?: Argon2idHasher,
): Promise<AccountKeys> {
  const verdict = await checkNewPassword(password, [normaliseUsername(username)]);
  if (!verdict.ok) throw new CryptoError('WEAK_PASSWORD', verdict.reason ?? 'weak password');
  return deriveAccountKeys(username, password, cost, hasher);
}
