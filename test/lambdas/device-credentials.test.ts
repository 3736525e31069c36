/** Device credentials: a MAC under the server's key over user, device, id and expiry (issue 9, point 8). */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signCredential, verifyCredential } from '../../lambdas/shared/device-credentials';
import { DeviceCredential } from '../../protocol/commands';

const key = randomBytes(48);
const claims = {
  userId: 'alice.b',
  deviceId: 'phone-1234',
  credentialId: 'abcdefghijklmnopqrstuv',
  expiresAt: 2_000_000_000_000,
};
const now = 1_900_000_000_000;

describe('device credentials', () => {
  it('verify under the key that made them, and say what they were made for', () => {
    const credential = signCredential(key, claims);
    expect(DeviceCredential.safeParse(credential).success).toBe(true);
    expect(verifyCredential(key, credential, now)).toEqual(claims);
    // An invite names no device.
    const invite = signCredential(key, { ...claims, deviceId: '' });
    expect(verifyCredential(key, invite, now)).toEqual({ ...claims, deviceId: '' });
  });

  it('count as nothing when any byte changed, under another key, or once expired', () => {
    const credential = signCredential(key, claims);
    expect(verifyCredential(randomBytes(48), credential, now)).toBeUndefined();
    expect(verifyCredential(key, credential, claims.expiresAt)).toBeUndefined();
    for (let i = 0; i < credential.length; i++) {
      const changed = credential[i] === 'A' ? 'B' : 'A';
      const tampered = credential.slice(0, i) + changed + credential.slice(i + 1);
      const verified = verifyCredential(key, tampered, now);
      // A change in the MAC's unused last bits may decode to the same bytes; nothing else passes.
      if (verified) expect(i).toBe(credential.length - 1);
    }
    const otherUser = signCredential(key, { ...claims, userId: 'mallory' });
    const spliced = `${otherUser.slice(0, otherUser.lastIndexOf('.'))}${credential.slice(credential.lastIndexOf('.'))}`;
    expect(verifyCredential(key, spliced, now)).toBeUndefined();
    for (const junk of ['', '.', 'dc1', 'dc1.a.b.c.d.e', `${'x'.repeat(100)}.${'A'.repeat(43)}`])
      expect(verifyCredential(key, junk, now)).toBeUndefined();
  });
});
