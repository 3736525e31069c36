import { createDecipheriv, createHash, createHmac, hkdfSync } from 'node:crypto';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { deriveAccountKeys } from '../../client/crypto/account';
import {
  BACKUP_HEADER_BYTES,
  type BackupContents,
  FIRST_BACKUP,
  MAX_BACKUP_PLAINTEXT_BYTES,
  type PinnedContact,
  type SealedBackup,
  encodeBackupContents,
  decodeBackupContents,
  nextLineage,
  openBackup,
  peekBackup,
  sealBackup,
} from '../../client/crypto/backup';
import { TEST_KDF_COST, allowWeakKdfForTests } from '../../client/crypto/kdf-settings';
import {
  SIGNED_PREKEY_ROTATION_MS,
  ed25519Sign,
  ed25519Verify,
  generateLocalKeys,
  publicBundle,
  rotateSignedPrekeyIfDue,
  type LocalKeys,
} from '../../client/crypto/keys';
import { randomBytes } from '../../client/crypto/primitives';
import { newRecoveryKey, recoveryBackupKey } from '../../client/crypto/recovery-key';
import { computeSafetyNumber } from '../../client/crypto/safety';
import * as tdes from '../../client/crypto/tdes';
import { codeOf } from '../support/crypto-errors';

// Count decryptions, to prove that no byte is decrypted before the MAC has been checked.
vi.mock('../../client/crypto/tdes', async (importOriginal) => {
  const original = await importOriginal<typeof tdes>();
  return { ...original, tdesCbcDecrypt: vi.fn(original.tdesCbcDecrypt) };
});

const T0 = Date.UTC(2025, 0, 1);
const pin = (acceptedAt: number): PinnedContact => ({
  identityDh: randomBytes(32),
  identitySign: randomBytes(32),
  acceptedAt,
});

let aliceKeys: LocalKeys;
let backupKey: Uint8Array;
let sealed: SealedBackup;
let contents: BackupContents;

beforeAll(async () => {
  allowWeakKdfForTests();
  ({ backupKey } = await deriveAccountKeys('alice', 'correct horse battery', TEST_KDF_COST));
  // Alice has rotated once: prekey 1 is retired (superseded), prekey 2 is current.
  aliceKeys = (
    await rotateSignedPrekeyIfDue(
      await generateLocalKeys('alice', T0),
      T0 + SIGNED_PREKEY_ROTATION_MS,
    )
  ).keys;
  contents = {
    keys: aliceKeys,
    pinnedContacts: new Map([
      ['bob', pin(T0)],
      ['carol.smith', pin(T0 + 1)],
      ['zoë', pin(T0 + 2)],
    ]),
  };
  sealed = await sealBackup(backupKey, contents, FIRST_BACKUP);
});

beforeEach(() => {
  vi.mocked(tdes.tdesCbcDecrypt).mockClear();
});

describe('key backup', () => {
  it('restores the keys (without the retired prekey) and the pins on another device from username and password alone', async () => {
    const onNewPhone = await deriveAccountKeys('  Alice', 'correct horse battery', TEST_KDF_COST);
    const restored = await openBackup(onNewPhone.backupKey, sealed.blob);
    expect(aliceKeys.signedPrekeys.map((p) => p.id)).toEqual([1, 2]);
    expect(restored.contents.keys.signedPrekeys.map((p) => p.id)).toEqual([2]);
    expect(restored.contents.keys.identitySign.publicKey).toEqual(aliceKeys.identitySign.publicKey);
    expect(restored.contents.pinnedContacts).toEqual(contents.pinnedContacts);
    expect(restored).toMatchObject({ version: 1, keyKind: 'password' });
    expect(restored.hash).toEqual(sealed.hash);
    const signature = await ed25519Sign(
      restored.contents.keys.identitySign.privateKey,
      new Uint8Array([1, 2, 3]),
    );
    expect(
      await ed25519Verify(aliceKeys.identitySign.publicKey, signature, new Uint8Array([1, 2, 3])),
    ).toBe(true);
    const bob = publicBundle(await generateLocalKeys('bob', T0));
    const me = {
      userId: 'alice',
      identityDh: aliceKeys.identityDh.publicKey,
      identitySign: aliceKeys.identitySign.publicKey,
    };
    const withPin = await sealBackup(
      backupKey,
      { keys: aliceKeys, pinnedContacts: new Map([['bob', { ...bob, acceptedAt: T0 }]]) },
      FIRST_BACKUP,
    );
    const pinnedBob = (await openBackup(backupKey, withPin.blob)).contents.pinnedContacts.get(
      'bob',
    )!;
    expect((await computeSafetyNumber(me, { ...pinnedBob, userId: 'bob' })).digits).toBe(
      (await computeSafetyNumber(me, bob)).digits,
    );
  });

  it('follows the documented format (checked with node:crypto: HKDF, HMAC, des-ede3-cbc, SHA-256)', async () => {
    const { blob } = sealed;
    expect(BACKUP_HEADER_BYTES).toBe(78);
    expect([...blob.subarray(0, 2)]).toEqual([2, 1]); // format 2, password
    const view = new DataView(blob.buffer, blob.byteOffset);
    expect(view.getBigUint64(2)).toBe(1n);
    expect([...blob.subarray(10, 42)]).toEqual(new Array(32).fill(0));
    const salt = blob.subarray(42, 74);
    const okm = new Uint8Array(
      hkdfSync('sha256', backupKey, salt, 'cipherline/v2/backup-blob', 56),
    );
    const macStart = blob.length - 32;
    const mac = createHmac('sha256', okm.subarray(24)).update(blob.subarray(0, macStart)).digest();
    expect(Buffer.from(blob.subarray(macStart)).equals(mac)).toBe(true);
    expect(view.getUint32(74)).toBe(blob.length - BACKUP_HEADER_BYTES - 8 - 32);
    const iv = blob.subarray(78, 86);
    const decipher = createDecipheriv('des-ede3-cbc', okm.subarray(0, 24), iv);
    const plain = Buffer.concat([decipher.update(blob.subarray(86, macStart)), decipher.final()]);
    expect(new Uint8Array(plain)).toEqual(await encodeBackupContents(contents));
    expect(Buffer.from(sealed.hash).toString('hex')).toBe(
      createHash('sha256').update(blob).digest('hex'),
    );
  });

  it('uses a fresh salt and IV for every backup', async () => {
    const again = await sealBackup(backupKey, contents, FIRST_BACKUP);
    expect(
      Buffer.from(again.blob.subarray(42, 74)).equals(Buffer.from(sealed.blob.subarray(42, 74))),
    ).toBe(false);
    expect(Buffer.from(again.hash).equals(Buffer.from(sealed.hash))).toBe(false);
  });

  it('answers WRONG_PASSWORD to another password or username, without decrypting', async () => {
    const wrongPassword = await deriveAccountKeys('alice', 'correct horse battery!', TEST_KDF_COST);
    const wrongUser = await deriveAccountKeys('alicia', 'correct horse battery', TEST_KDF_COST);
    expect(await codeOf(openBackup(wrongPassword.backupKey, sealed.blob))).toBe('WRONG_PASSWORD');
    expect(await codeOf(openBackup(wrongUser.backupKey, sealed.blob))).toBe('WRONG_PASSWORD');
    expect(tdes.tdesCbcDecrypt).not.toHaveBeenCalled();
  });

  it('rejects a flipped bit in every byte with a typed error, never decrypting', async () => {
    const { blob } = sealed;
    for (let index = 0; index < blob.length; index++) {
      const tampered = blob.slice();
      tampered[index]! ^= 1 << (index % 8);
      const code = await codeOf(openBackup(backupKey, tampered));
      const expected =
        index === 0
          ? ['UNSUPPORTED_VERSION']
          : index === 1 || (index >= 74 && index < 78)
            ? ['MALFORMED']
            : index >= 2 && index < 10
              ? ['MALFORMED', 'WRONG_PASSWORD'] // a version out of range, or one the MAC refuses
              : ['WRONG_PASSWORD'];
      expect(expected, `byte ${index}: ${code}`).toContain(code);
    }
    expect(tdes.tdesCbcDecrypt).not.toHaveBeenCalled();
  });

  it('answers MALFORMED to every truncation and to trailing bytes', async () => {
    const { blob } = sealed;
    for (let length = 0; length < blob.length; length++) {
      expect(
        await codeOf(openBackup(backupKey, blob.subarray(0, length))),
        `length ${length}`,
      ).toBe('MALFORMED');
    }
    const extended = new Uint8Array(blob.length + 8);
    extended.set(blob);
    expect(await codeOf(openBackup(backupKey, extended))).toBe('MALFORMED');
    expect(tdes.tdesCbcDecrypt).not.toHaveBeenCalled();
  });

  it('refuses a backup key of the wrong size, and a version 1 with a predecessor', async () => {
    expect(await codeOf(sealBackup(new Uint8Array(16), contents, FIRST_BACKUP))).toBe('BAD_KEY');
    expect(await codeOf(openBackup(new Uint8Array(31), sealed.blob))).toBe('BAD_KEY');
    expect(
      await codeOf(sealBackup(backupKey, contents, { version: 1, previousHash: sealed.hash })),
    ).toBe('BAD_INPUT');
  });
});

describe('versions and rollback (issue 9 point 6)', () => {
  it('chains each backup to the one it replaces, and refuses to restore one older than the last seen (BACKUP_ROLLBACK)', async () => {
    const second = await sealBackup(backupKey, contents, nextLineage(sealed));
    expect(second.version).toBe(2);
    expect(second.previousHash).toEqual(sealed.hash);
    expect(await peekBackup(second.blob)).toMatchObject({ version: 2, keyKind: 'password' });
    expect((await openBackup(backupKey, second.blob, { lastSeenVersion: 2 })).version).toBe(2);
    // The server serves version 1 to a device that saw version 2: un-pins, old prekeys back.
    vi.mocked(tdes.tdesCbcDecrypt).mockClear();
    expect(await codeOf(openBackup(backupKey, sealed.blob, { lastSeenVersion: 2 }))).toBe(
      'BACKUP_ROLLBACK',
    );
    expect(tdes.tdesCbcDecrypt).not.toHaveBeenCalled();
    // The version is under the MAC: rewriting it is WRONG_PASSWORD, not a newer backup.
    const relabelled = sealed.blob.slice();
    relabelled[9] = 3;
    expect(await codeOf(openBackup(backupKey, relabelled, { lastSeenVersion: 2 }))).toBe(
      'WRONG_PASSWORD',
    );
  });
});

describe('the recovery key (issue 9 point 5)', () => {
  it('seals and opens the backup instead of the password, and the backup says which to ask for', async () => {
    const recoveryKey = newRecoveryKey();
    const key = await recoveryBackupKey(recoveryKey);
    const byRecovery = await sealBackup(key, contents, FIRST_BACKUP, 'recovery-key');
    expect(await peekBackup(byRecovery.blob)).toMatchObject({ keyKind: 'recovery-key' });
    const restored = await openBackup(await recoveryBackupKey(recoveryKey), byRecovery.blob);
    expect(restored.contents.pinnedContacts).toEqual(contents.pinnedContacts);
    expect(restored.keyKind).toBe('recovery-key');
    // The password (what a guessing server could find) does not open it.
    expect(await codeOf(openBackup(backupKey, byRecovery.blob))).toBe('WRONG_PASSWORD');
    expect(
      await codeOf(openBackup(await recoveryBackupKey(newRecoveryKey()), byRecovery.blob)),
    ).toBe('WRONG_PASSWORD');
  });
});

describe('backup contents encoding', () => {
  it('round-trips, and an empty contact list too; drops retired prekeys', async () => {
    const empty: BackupContents = { keys: aliceKeys, pinnedContacts: new Map() };
    const back = await decodeBackupContents(await encodeBackupContents(empty));
    expect(back.pinnedContacts.size).toBe(0);
    expect(back.keys.signedPrekeys.map((p) => p.id)).toEqual([2]);
    expect(
      (await decodeBackupContents(await encodeBackupContents(contents))).pinnedContacts,
    ).toEqual(contents.pinnedContacts);
  });

  it('rejects truncated, extended or duplicated contents as MALFORMED, another format as UNSUPPORTED_VERSION', async () => {
    const encoded = await encodeBackupContents(contents);
    const decode = (bytes: Uint8Array) => codeOf(decodeBackupContents(bytes));
    expect(await decode(encoded.subarray(0, encoded.length - 1))).toBe('MALFORMED');
    expect(await decode(new Uint8Array([...encoded, 0]))).toBe('MALFORMED');
    const one = await encodeBackupContents({
      keys: aliceKeys,
      pinnedContacts: new Map([['bob', pin(T0)]]),
    });
    // The same contact twice: raise the count to 2 and repeat the last entry.
    const entryLength = 4 + 3 + 4 + 32 + 4 + 32 + 4 + 8;
    const twice = new Uint8Array([...one, ...one.subarray(one.length - entryLength)]);
    new DataView(twice.buffer).setUint32(one.length - entryLength - 4, 2);
    expect(await decode(twice)).toBe('MALFORMED');
    const otherFormat = encoded.slice();
    otherFormat[3] = 9;
    expect(await decode(otherFormat)).toBe('UNSUPPORTED_VERSION');
  });

  it('seals up to 2^20 3DES blocks under one key and refuses one byte more', async () => {
    // Fill the contents to exactly the limit with contacts of 88 + (id length) bytes each.
    const base = (await encodeBackupContents({ keys: aliceKeys, pinnedContacts: new Map() }))
      .length;
    const target = MAX_BACKUP_PLAINTEXT_BYTES - base;
    const entry = (idLength: number) => 88 + idLength;
    const count = Math.floor(target / entry(200));
    let rest = target - count * entry(200);
    const pinnedContacts = new Map<string, PinnedContact>();
    const shared = pin(T0);
    for (let i = 0; i < count; i++) {
      const extra = Math.min(rest, 56);
      rest -= extra;
      pinnedContacts.set(`c${String(i).padStart(6, '0')}`.padEnd(200 + extra, 'x'), shared);
    }
    expect(rest).toBe(0);
    const largest: BackupContents = { keys: aliceKeys, pinnedContacts };
    expect((await encodeBackupContents(largest)).length).toBe(MAX_BACKUP_PLAINTEXT_BYTES);
    const big = await sealBackup(backupKey, largest, FIRST_BACKUP);
    expect(big.blob.length).toBe(BACKUP_HEADER_BYTES + 8 + 2 ** 23 + 32);
    expect((await openBackup(backupKey, big.blob)).contents.pinnedContacts.size).toBe(count);
    const last = [...pinnedContacts.keys()].at(-1)!;
    pinnedContacts.delete(last);
    pinnedContacts.set(`${last}y`, shared); // one byte more
    expect(await codeOf(sealBackup(backupKey, largest, FIRST_BACKUP))).toBe('KEY_USAGE_EXCEEDED');
  });
});
