import { createDecipheriv, createHmac, hkdfSync } from 'node:crypto';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { deriveAccountKeys } from '../../client/crypto/account';
import {
  MAX_BACKUP_PLAINTEXT_BYTES,
  decodeBackupContents,
  encodeBackupContents,
  openBackup,
  sealBackup,
} from '../../client/crypto/backup';
import type { BackupContents } from '../../client/crypto/backup';
import { CryptoError } from '../../protocol/crypto-error';
import { randomBytes } from '../../client/crypto/primitives';
import { TEST_KDF_COST, allowWeakKdfForTests } from '../../client/crypto/kdf-settings';
import {
  ed25519Sign,
  ed25519Verify,
  exportLocalKeys,
  generateLocalKeys,
  importLocalKeys,
  pinnedIdentityOf,
  publicBundle,
} from '../../client/crypto/keys';
import { computeSafetyNumber } from '../../client/crypto/safety';
import * as tdes from '../../client/crypto/tdes';

// Count decryptions, to prove that no byte is decrypted before the MAC has been checked.
vi.mock('../../client/crypto/tdes', async (importOriginal) => {
  const original = await importOriginal<typeof tdes>();
  return { ...original, tdesCbcDecrypt: vi.fn(original.tdesCbcDecrypt) };
});

const HEADER = 1 + 32 + 4; // version, salt, ciphertext length

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CryptoError) return error.code;
    throw error;
  }
  return 'NO ERROR';
}

function sampleContents(): BackupContents {
  return {
    privateKeys: new TextEncoder().encode(
      JSON.stringify({
        identityDh: 'x'.repeat(44),
        identitySign: 'y'.repeat(44),
        prekeys: [1, 2, 3],
      }),
    ),
    pinnedContacts: new Map([
      ['bob', { identityDh: randomBytes(32), identitySign: randomBytes(32) }],
      ['carol.smith', { identityDh: randomBytes(32), identitySign: randomBytes(32) }],
      ['zoë', { identityDh: randomBytes(32), identitySign: randomBytes(32) }],
    ]),
  };
}

let backupKey: Uint8Array;
let blob: Uint8Array;
let contents: BackupContents;

beforeAll(async () => {
  allowWeakKdfForTests();
  ({ backupKey } = await deriveAccountKeys('alice', 'correct horse battery', TEST_KDF_COST));
  contents = sampleContents();
  blob = await sealBackup(backupKey, contents);
});

beforeEach(() => {
  vi.mocked(tdes.tdesCbcDecrypt).mockClear();
});

describe('key backup', () => {
  it('restores identical contents on another device from username and password alone', async () => {
    const onNewPhone = await deriveAccountKeys('  Alice', 'correct horse battery', TEST_KDF_COST);
    const restored = await openBackup(onNewPhone.backupKey, blob);
    expect(restored.privateKeys).toEqual(contents.privateKeys);
    expect(restored.pinnedContacts).toEqual(contents.pinnedContacts);
    expect([...restored.pinnedContacts.keys()]).toEqual(['bob', 'carol.smith', 'zoë']);
  });

  it('restores real device keys (keys.ts) that still sign, and pinned keys that give the same safety number', async () => {
    const now = Date.UTC(2025, 0, 1);
    const aliceKeys = await generateLocalKeys('alice', now);
    const bobBundle = publicBundle(await generateLocalKeys('bob', now));
    const sealed = await sealBackup(backupKey, {
      privateKeys: await exportLocalKeys(aliceKeys),
      pinnedContacts: new Map([['bob', pinnedIdentityOf(bobBundle)]]),
    });

    const onNewPhone = await deriveAccountKeys('alice', 'correct horse battery', TEST_KDF_COST);
    const restored = await openBackup(onNewPhone.backupKey, sealed);
    const restoredKeys = await importLocalKeys(restored.privateKeys);
    expect(restoredKeys.identityDh.publicKey).toEqual(aliceKeys.identityDh.publicKey);
    const signature = await ed25519Sign(
      restoredKeys.identitySign.privateKey,
      new Uint8Array([1, 2, 3]),
    );
    expect(
      await ed25519Verify(aliceKeys.identitySign.publicKey, signature, new Uint8Array([1, 2, 3])),
    ).toBe(true);

    const pinnedBob = restored.pinnedContacts.get('bob')!;
    const me = {
      userId: 'alice',
      identityDh: aliceKeys.identityDh.publicKey,
      identitySign: aliceKeys.identitySign.publicKey,
    };
    const before = await computeSafetyNumber(me, { userId: 'bob', ...pinnedIdentityOf(bobBundle) });
    const after = await computeSafetyNumber(me, { userId: 'bob', ...pinnedBob });
    expect(after.digits).toBe(before.digits);
  });

  it('follows the documented format (checked with node:crypto: HKDF, HMAC, des-ede3-cbc)', () => {
    const salt = blob.subarray(1, 33);
    const okm = new Uint8Array(
      hkdfSync('sha256', backupKey, salt, 'cipherline/v1/backup-blob', 56),
    );
    const macStart = blob.length - 32;
    const mac = createHmac('sha256', okm.subarray(24)).update(blob.subarray(0, macStart)).digest();
    expect(Buffer.from(blob.subarray(macStart)).equals(mac)).toBe(true);
    expect(blob[0]).toBe(1);
    const length = new DataView(blob.buffer, blob.byteOffset).getUint32(33);
    expect(length).toBe(blob.length - HEADER - 8 - 32);
    const iv = blob.subarray(HEADER, HEADER + 8);
    const decipher = createDecipheriv('des-ede3-cbc', okm.subarray(0, 24), iv);
    const plain = Buffer.concat([
      decipher.update(blob.subarray(HEADER + 8, macStart)),
      decipher.final(),
    ]);
    expect(new Uint8Array(plain)).toEqual(encodeBackupContents(contents));
  });

  it('uses a fresh salt and IV for every backup', async () => {
    const again = await sealBackup(backupKey, contents);
    expect(Buffer.from(again.subarray(1, 33)).equals(Buffer.from(blob.subarray(1, 33)))).toBe(
      false,
    );
    expect(Buffer.from(again).equals(Buffer.from(blob))).toBe(false);
    expect((await openBackup(backupKey, again)).pinnedContacts).toEqual(contents.pinnedContacts);
  });

  it('answers WRONG_PASSWORD to another password or username, without decrypting', async () => {
    const wrongPassword = await deriveAccountKeys('alice', 'correct horse battery!', TEST_KDF_COST);
    const wrongUser = await deriveAccountKeys('alicia', 'correct horse battery', TEST_KDF_COST);
    expect(await codeOf(openBackup(wrongPassword.backupKey, blob))).toBe('WRONG_PASSWORD');
    expect(await codeOf(openBackup(wrongUser.backupKey, blob))).toBe('WRONG_PASSWORD');
    expect(tdes.tdesCbcDecrypt).not.toHaveBeenCalled();
  });

  it('rejects a flipped bit in every byte with a typed error, never decrypting', async () => {
    for (let index = 0; index < blob.length; index++) {
      const tampered = blob.slice();
      tampered[index]! ^= 1 << (index % 8);
      const expected =
        index === 0
          ? 'UNSUPPORTED_VERSION'
          : index >= 33 && index < HEADER
            ? 'MALFORMED'
            : 'WRONG_PASSWORD';
      expect(await codeOf(openBackup(backupKey, tampered)), `byte ${index}`).toBe(expected);
    }
    expect(tdes.tdesCbcDecrypt).not.toHaveBeenCalled();
  });

  it('answers MALFORMED to every truncation and to trailing bytes', async () => {
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

  it('refuses a backup key of the wrong size', async () => {
    expect(await codeOf(sealBackup(new Uint8Array(16), contents))).toBe('BAD_KEY');
    expect(await codeOf(openBackup(new Uint8Array(31), blob))).toBe('BAD_KEY');
  });

  it('seals up to 2^20 3DES blocks under one key and refuses one byte more', async () => {
    const overhead = encodeBackupContents({
      privateKeys: new Uint8Array(0),
      pinnedContacts: new Map(),
    }).length;
    expect(MAX_BACKUP_PLAINTEXT_BYTES).toBe(2 ** 23 - 1);
    const largest = {
      privateKeys: randomBytes(MAX_BACKUP_PLAINTEXT_BYTES - overhead),
      pinnedContacts: new Map(),
    };
    const sealed = await sealBackup(backupKey, largest);
    expect(sealed.length).toBe(HEADER + 8 + 2 ** 23 + 32);
    const restored = (await openBackup(backupKey, sealed)).privateKeys;
    // Buffer.equals: vitest's toEqual walks 8 MiB element by element for tens of seconds.
    expect(Buffer.from(restored).equals(Buffer.from(largest.privateKeys))).toBe(true);
    const tooBig = {
      privateKeys: new Uint8Array(MAX_BACKUP_PLAINTEXT_BYTES - overhead + 1),
      pinnedContacts: new Map(),
    };
    expect(await codeOf(sealBackup(backupKey, tooBig))).toBe('KEY_USAGE_EXCEEDED');
  });
});

describe('backup contents encoding', () => {
  it('round-trips, and an empty contact list too', () => {
    const empty: BackupContents = { privateKeys: randomBytes(5), pinnedContacts: new Map() };
    expect(decodeBackupContents(encodeBackupContents(empty))).toEqual(empty);
    expect(decodeBackupContents(encodeBackupContents(contents))).toEqual(contents);
  });

  it('rejects truncated, extended, duplicated or non-UTF-8 contents as MALFORMED', () => {
    const encoded = encodeBackupContents(contents);
    const codeOfSync = (bytes: Uint8Array): string => {
      try {
        decodeBackupContents(bytes);
        return 'NO ERROR';
      } catch (error) {
        return error instanceof CryptoError ? error.code : String(error);
      }
    };
    expect(codeOfSync(encoded.subarray(0, encoded.length - 1))).toBe('MALFORMED');
    expect(codeOfSync(new Uint8Array([...encoded, 0]))).toBe('MALFORMED');
    // One contact written twice: format 1, empty private keys, count 2, the same entry twice.
    const entry = [0, 0, 0, 1, 98, 0, 0, 0, 1, 7, 0, 0, 0, 1, 8];
    expect(
      codeOfSync(new Uint8Array([0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, ...entry, ...entry])),
    ).toBe('MALFORMED');
    const badUtf8 = [0, 0, 0, 1, 0xff, 0, 0, 0, 1, 7, 0, 0, 0, 1, 8];
    expect(codeOfSync(new Uint8Array([0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, ...badUtf8]))).toBe(
      'MALFORMED',
    );
    expect(codeOfSync(new Uint8Array([0, 0, 0, 9]))).toBe('UNSUPPORTED_VERSION');
  });
});
