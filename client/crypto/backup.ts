/**
 * The key backup (DESIGN.md section 4): the device's private keys and the contacts' pinned public
 * keys, sealed under the backup key (account.ts) so the server can store them and a new device
 * that knows username + password can restore them. The server never holds the backup key.
 *
 * Blob, version 1 (all integers big-endian):
 *   version u8 = 1 ‖ salt (32) ‖ ciphertext length u32   — the header
 *   ‖ IV (8) ‖ ciphertext (3DES-EDE3-CBC, PKCS#7) ‖ HMAC-SHA256 (32)
 * Per backup, a fresh random salt gives fresh keys: HKDF(backup key, salt,
 * "cipherline/v1/backup-blob") → 24 bytes of 3DES key ‖ 32 bytes of MAC key. The MAC covers
 * exactly header ‖ IV ‖ ciphertext and is checked (subtle.verify) before anything is decrypted.
 * The length in the header makes any truncation or extension a MALFORMED blob before the MAC.
 *
 * A wrong password and an altered blob look the same to the MAC: without the right key nobody
 * can tell "other key" from "other bytes". Both answer WRONG_PASSWORD, the code a user can act
 * on; after a successful signin (so the password is right) it means the stored backup was altered
 * or sealed under an older password.
 */
import { CryptoError } from '../../protocol/crypto-error';
import { hkdf, hmacKey, hmacSign, hmacVerify, randomBytes } from './primitives';
import {
  TDES_MAX_BLOCKS_PER_KEY,
  TDES_MAX_PLAINTEXT_BYTES,
  tdesCbcDecrypt,
  tdesCbcEncrypt,
} from './tdes';
import {
  bytesEqual,
  concatBytes,
  fromUtf8,
  lengthPrefixed,
  u32,
  utf8,
  type Bytes,
} from '../../protocol/bytes';

export interface PinnedContactKeys {
  /** The contact's X25519 identity public key, as pinned. */
  readonly identityDh: Uint8Array;
  /** The contact's Ed25519 public key, as pinned. */
  readonly identitySign: Uint8Array;
}

export interface BackupContents {
  /** The device's private keys as keys.ts serialises them; opaque bytes to this module. */
  readonly privateKeys: Uint8Array;
  /** userId → that contact's pinned public keys. */
  readonly pinnedContacts: ReadonlyMap<string, PinnedContactKeys>;
}

export const BACKUP_VERSION = 1;
/** One 3DES key per backup, so the plaintext (serialised contents) is at most 2^23 - 1 bytes. */
export const MAX_BACKUP_PLAINTEXT_BYTES = TDES_MAX_PLAINTEXT_BYTES;

const SALT_BYTES = 32;
const HEADER_BYTES = 1 + SALT_BYTES + 4;
const IV_BYTES = 8;
const MAC_BYTES = 32;
const BLOB_INFO = 'cipherline/v1/backup-blob';
const CONTENTS_FORMAT = 1;

interface BlobKeys {
  readonly tdesKey: Bytes;
  readonly macKey: CryptoKey;
}

async function blobKeys(backupKey: Uint8Array, salt: Uint8Array): Promise<BlobKeys> {
  if (backupKey.length !== 32) throw new CryptoError('BAD_KEY', 'a backup key has 32 bytes');
  const okm = await hkdf(backupKey, salt, utf8(BLOB_INFO), 24 + 32);
  const keys = { tdesKey: okm.slice(0, 24), macKey: await hmacKey(okm.subarray(24)) };
  okm.fill(0);
  return keys;
}

/** Encrypts the contents for the server to store. Fresh salt and IV each time. */
export async function sealBackup(backupKey: Uint8Array, contents: BackupContents): Promise<Bytes> {
  const plaintext = encodeBackupContents(contents);
  if (plaintext.length > MAX_BACKUP_PLAINTEXT_BYTES) {
    throw new CryptoError(
      'KEY_USAGE_EXCEEDED',
      `a backup of ${plaintext.length} bytes exceeds ${MAX_BACKUP_PLAINTEXT_BYTES} bytes, the most one 3DES key may encrypt (2^20 blocks)`,
    );
  }
  const salt = randomBytes(SALT_BYTES);
  const iv = randomBytes(IV_BYTES);
  const { tdesKey, macKey } = await blobKeys(backupKey, salt);
  try {
    const ciphertext = tdesCbcEncrypt(tdesKey, iv, plaintext);
    const header = concatBytes(new Uint8Array([BACKUP_VERSION]), salt, u32(ciphertext.length));
    const mac = await hmacSign(macKey, concatBytes(header, iv, ciphertext));
    return concatBytes(header, iv, ciphertext, mac);
  } finally {
    tdesKey.fill(0);
    plaintext.fill(0);
  }
}

/**
 * Restores the contents. MALFORMED for a truncated or malformed blob, UNSUPPORTED_VERSION for
 * another format, WRONG_PASSWORD when the MAC fails (other password, or altered bytes).
 */
export async function openBackup(backupKey: Uint8Array, blob: Uint8Array): Promise<BackupContents> {
  if (blob.length === 0) throw new CryptoError('MALFORMED', 'the backup is empty');
  if (blob[0] !== BACKUP_VERSION) {
    throw new CryptoError(
      'UNSUPPORTED_VERSION',
      `backup version ${blob[0]} is not ${BACKUP_VERSION}`,
    );
  }
  if (blob.length < HEADER_BYTES + IV_BYTES + 8 + MAC_BYTES) {
    throw new CryptoError('MALFORMED', 'the backup is truncated');
  }
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const ciphertextLength = view.getUint32(HEADER_BYTES - 4);
  if (
    ciphertextLength === 0 ||
    ciphertextLength % 8 !== 0 ||
    ciphertextLength > TDES_MAX_BLOCKS_PER_KEY * 8
  ) {
    throw new CryptoError('MALFORMED', 'the backup states an impossible ciphertext length');
  }
  if (blob.length !== HEADER_BYTES + IV_BYTES + ciphertextLength + MAC_BYTES) {
    throw new CryptoError('MALFORMED', 'the backup is truncated or has trailing bytes');
  }
  const macStart = blob.length - MAC_BYTES;
  const salt = blob.subarray(1, 1 + SALT_BYTES);
  const iv = blob.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES);
  const ciphertext = blob.subarray(HEADER_BYTES + IV_BYTES, macStart);
  const { tdesKey, macKey } = await blobKeys(backupKey, salt);
  try {
    if (!(await hmacVerify(macKey, blob.subarray(macStart), blob.subarray(0, macStart)))) {
      throw new CryptoError('WRONG_PASSWORD', 'wrong password, or the backup was altered');
    }
    const plaintext = tdesCbcDecrypt(tdesKey, iv, ciphertext);
    try {
      return decodeBackupContents(plaintext);
    } finally {
      plaintext.fill(0);
    }
  } finally {
    tdesKey.fill(0);
  }
}

/**
 * The plaintext: format u32 ‖ lengthPrefixed(privateKeys) ‖ count u32 ‖ per contact, sorted by
 * user id, lengthPrefixed(userId, identityDh, identitySign). Binary rather than JSON so that the
 * key bytes need no base64 and parsing has nothing to guess.
 */
export function encodeBackupContents(contents: BackupContents): Bytes {
  const userIds = [...contents.pinnedContacts.keys()].sort();
  const contacts = userIds.map((userId) => {
    const keys = contents.pinnedContacts.get(userId)!;
    if (userId.length === 0) throw new CryptoError('BAD_INPUT', 'a pinned contact needs a user id');
    return lengthPrefixed(utf8(userId), keys.identityDh, keys.identitySign);
  });
  return concatBytes(
    u32(CONTENTS_FORMAT),
    lengthPrefixed(contents.privateKeys),
    u32(contacts.length),
    ...contacts,
  );
}

export function decodeBackupContents(plaintext: Uint8Array): BackupContents {
  const reader = new Reader(plaintext);
  if (reader.u32() !== CONTENTS_FORMAT)
    throw new CryptoError('UNSUPPORTED_VERSION', 'unknown backup contents format');
  const privateKeys = reader.field();
  const count = reader.u32();
  const pinnedContacts = new Map<string, PinnedContactKeys>();
  for (let i = 0; i < count; i++) {
    const userId = decodeUserId(reader.field());
    if (pinnedContacts.has(userId))
      throw new CryptoError('MALFORMED', 'a contact appears twice in the backup');
    pinnedContacts.set(userId, { identityDh: reader.field(), identitySign: reader.field() });
  }
  reader.end();
  return { privateKeys, pinnedContacts };
}

function decodeUserId(bytes: Uint8Array): string {
  try {
    const userId = fromUtf8(bytes);
    if (userId.length > 0 && bytesEqual(utf8(userId), bytes)) return userId;
  } catch {
    // fall through: not UTF-8
  }
  throw new CryptoError('MALFORMED', 'a user id in the backup is not valid UTF-8');
}

/** Reads the big-endian fields of encodeBackupContents; any overrun is MALFORMED. */
class Reader {
  private offset = 0;
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u32(): number {
    this.need(4);
    const value = this.view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }
  field(): Bytes {
    const length = this.u32();
    this.need(length);
    const out = this.bytes.slice(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }
  end(): void {
    if (this.offset !== this.bytes.length)
      throw new CryptoError('MALFORMED', 'trailing bytes in the backup contents');
  }
  private need(length: number): void {
    if (this.offset + length > this.bytes.length)
      throw new CryptoError('MALFORMED', 'the backup contents are truncated');
  }
}
