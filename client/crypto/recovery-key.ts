/**
 * The optional recovery key (issue 9 point 5): 64 random decimal digits (212 bits), shown once,
 * like WhatsApp's end-to-end encrypted backup key. It seals the key backup instead of the
 * password-derived backup key, so a server that guesses the password from the auth key gets a
 * sign-in, not the private keys. 212 random bits need no stretching: one HKDF turns the digits
 * into a 32-byte backup key that sealBackup/openBackup take like the password's.
 */
import { utf8, type Bytes } from '../../protocol/bytes';
import { CryptoError } from '../../protocol/crypto-error';
import { hkdf, randomBytes } from './primitives';

export const RECOVERY_KEY_DIGITS = 64;
const GROUP_DIGITS = 4;
const RECOVERY_INFO = utf8('cipherline/v1/recovery-backup-key');

/** 64 uniformly random digits (bytes ≥ 250 are drawn again, so every digit is equally likely). */
export function newRecoveryKey(): string {
  let digits = '';
  while (digits.length < RECOVERY_KEY_DIGITS) {
    for (const byte of randomBytes(RECOVERY_KEY_DIGITS)) {
      if (byte < 250 && digits.length < RECOVERY_KEY_DIGITS) digits += String(byte % 10);
    }
  }
  return digits;
}

/** For showing: 16 groups of 4 digits. */
export function formatRecoveryKey(recoveryKey: string): string {
  const digits = parseRecoveryKey(recoveryKey);
  return digits.match(new RegExp(`\\d{${GROUP_DIGITS}}`, 'g'))!.join(' ');
}

/** What the user typed, without spaces or dashes; BAD_INPUT unless exactly 64 digits. */
export function parseRecoveryKey(typed: string): string {
  const digits = typed.replace(/[\s-]/g, '');
  if (!/^\d+$/.test(digits) || digits.length !== RECOVERY_KEY_DIGITS) {
    throw new CryptoError(
      'BAD_INPUT',
      `a recovery key is ${RECOVERY_KEY_DIGITS} digits (spaces and dashes are ignored)`,
    );
  }
  return digits;
}

/** The 32-byte backup key a recovery key stands for. */
export async function recoveryBackupKey(recoveryKey: string): Promise<Bytes> {
  return hkdf(utf8(parseRecoveryKey(recoveryKey)), new Uint8Array(0), RECOVERY_INFO, 32);
}
