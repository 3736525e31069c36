/** New passwords and the recovery key (issue 9 point 5). */
import { build } from 'esbuild';
import { describe, expect, it, vi } from 'vitest';
import { deriveAccountKeys, deriveNewAccountKeys } from '../../client/crypto/account';
import { TEST_KDF_COST, allowWeakKdfForTests } from '../../client/crypto/kdf-settings';
import { MIN_PASSWORD_SCORE, checkNewPassword } from '../../client/crypto/password-strength';
import {
  RECOVERY_KEY_DIGITS,
  formatRecoveryKey,
  newRecoveryKey,
  parseRecoveryKey,
  recoveryBackupKey,
} from '../../client/crypto/recovery-key';
import { toBase64 } from '../../protocol/bytes';
import { rejectsWith } from '../support/crypto-errors';

describe('new passwords', () => {
  it('refuses sunshine1 and password1 (which score 3 without the dictionaries), and accepts a strong passphrase', async () => {
    for (const weak of ['sunshine1', 'password1']) {
      const verdict = await checkNewPassword(weak);
      expect(verdict.ok, weak).toBe(false);
      expect(verdict.score).toBeLessThan(MIN_PASSWORD_SCORE);
      expect(verdict.reason).toMatch(/too easy to guess/);
    }
    const strong = await checkNewPassword('glacier orbit pencil tulip');
    expect(strong).toMatchObject({ ok: true });
    expect(strong.score).toBeGreaterThanOrEqual(MIN_PASSWORD_SCORE);
    expect(strong.guessesLog10).toBeGreaterThan(10);
  });

  it('keeps a minimum length, and counts the username as a word a guesser tries first', async () => {
    expect(await checkNewPassword('Xq9#vL2')).toMatchObject({ ok: false, score: 0 });
    const withName = 'zorblaxquintrell2024';
    expect((await checkNewPassword(withName)).ok).toBe(true);
    expect((await checkNewPassword(withName, ['zorblaxquintrell'])).ok).toBe(false);
  });

  it('signup refuses a weak password before deriving anything (WEAK_PASSWORD)', async () => {
    allowWeakKdfForTests();
    await rejectsWith(deriveNewAccountKeys('alice', 'sunshine1', TEST_KDF_COST), 'WEAK_PASSWORD');
    const keys = await deriveNewAccountKeys('alice', 'glacier orbit pencil tulip', TEST_KDF_COST);
    const same = await deriveAccountKeys('alice', 'glacier orbit pencil tulip', TEST_KDF_COST);
    expect(toBase64(keys.authKey)).toBe(toBase64(same.authKey));
  });

  it('loads zxcvbn and its dictionaries only when a password is checked: not in the first bundle', async () => {
    const result = await build({
      entryPoints: ['client/crypto/account.ts'],
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'browser',
      outdir: 'out',
      write: false,
      logLevel: 'silent',
    });
    const entry = result.outputFiles.find((f) => f.path.endsWith('/account.js'))!;
    const chunks = result.outputFiles.filter((f) => f !== entry);
    // "onlineThrottlingXPerHour" is in zxcvbn's code; "sunshine" is in its password list.
    expect(entry.text).not.toMatch(/onlineThrottlingXPerHour|sunshine/);
    expect(entry.text.length).toBeLessThan(100_000);
    expect(chunks.some((c) => c.text.includes('onlineThrottlingXPerHour'))).toBe(true);
    expect(chunks.some((c) => c.text.includes('sunshine'))).toBe(true);
    expect(chunks.reduce((n, c) => n + c.text.length, 0)).toBeGreaterThan(1_000_000);
  });
});

describe('the recovery key', () => {
  it('is 64 random digits, shown in groups of 4, read back with or without spaces', () => {
    const key = newRecoveryKey();
    expect(key).toMatch(/^\d{64}$/);
    expect(RECOVERY_KEY_DIGITS).toBe(64);
    expect(newRecoveryKey()).not.toBe(key);
    const shown = formatRecoveryKey(key);
    expect(shown.split(' ')).toHaveLength(16);
    expect(parseRecoveryKey(shown)).toBe(key);
    expect(parseRecoveryKey(shown.replaceAll(' ', '-'))).toBe(key);
    expect(() => parseRecoveryKey(key.slice(1))).toThrow(/64 digits/);
    expect(() => parseRecoveryKey(`${key.slice(1)}x`)).toThrow(/64 digits/);
  });

  it('draws bytes of 250 and more again, so no digit is more likely than another', () => {
    // Bytes 250-255 would give the digits 0-5 a 26/256 chance against 25/256 for 6-9.
    const pattern = [250, 251, 252, 253, 254, 255, 9, 19, 249];
    const spy = vi.spyOn(globalThis.crypto, 'getRandomValues').mockImplementation((array) => {
      const bytes = array as Uint8Array;
      for (let i = 0; i < bytes.length; i++) bytes[i] = pattern[i % pattern.length]!;
      return array;
    });
    try {
      expect(newRecoveryKey()).toBe('9'.repeat(64));
    } finally {
      spy.mockRestore();
    }
  });

  it('gives a 32-byte backup key of its own, the same for the same digits however typed', async () => {
    const key = newRecoveryKey();
    const backupKey = await recoveryBackupKey(key);
    expect(backupKey).toHaveLength(32);
    expect(toBase64(await recoveryBackupKey(formatRecoveryKey(key)))).toBe(toBase64(backupKey));
    expect(toBase64(await recoveryBackupKey(newRecoveryKey()))).not.toBe(toBase64(backupKey));
  });
});
