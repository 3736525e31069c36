/**
 * The key backup (DESIGN.md section 4; issue 9 points 5 and 6): the account's private keys and
 * the contacts' pinned public keys, sealed under the backup key (account.ts, or a recovery key:
 * recovery-key.ts) so the server can store them and a new device can restore them. The server
 * never holds the backup key. Version 2:
 *
 *   header = format u8 (2) ‖ key kind u8 (1 password, 2 recovery key) ‖ version u64
 *            ‖ previous hash (32; zeros for version 1) ‖ salt (32, random per backup)
 *            ‖ ciphertext length u32                                          (78 bytes)
 *   keys   = HKDF-SHA256(backup key, salt, "cipherline/v2/backup-blob") → 3DES key (24) ‖ MAC key (32)
 *   blob   = header ‖ IV (8) ‖ 3DES-EDE3-CBC/PKCS#7(contents) ‖ HMAC-SHA256(header ‖ IV ‖ ciphertext)
 *   hash   = SHA-256(blob): what the next backup and the notes to self name
 *
 * The version only grows and each backup names the hash of the one it replaces, so a server that
 * serves an older backup (openBackup's lastSeenVersion) or two devices that fork the chain
 * (backup-sync.ts) are noticed. The header is in the clear (the server compares versions) but
 * under the MAC. The MAC is checked (subtle.verify) before anything is decrypted; a wrong key and
 * altered bytes both answer WRONG_PASSWORD (nobody without the key can tell them apart).
 *
 * The contents hold no retired (superseded) prekeys: a stolen or guessed backup opens no message
 * sealed to them. A device restored from it cannot open messages still waiting for a retired
 * prekey either; that is the price (docs/crypto.md).
 */
import {
  ByteReader,
  type Bytes,
  bytesEqual,
  concatBytes,
  lengthPrefixed,
  sha256,
  u32,
  u64,
  utf8,
} from '../../protocol/bytes';
import { CryptoError } from '../../protocol/crypto-error';
import { MAX_INLINE_ENVELOPE_BYTES } from '../../protocol/limits';
import { type LocalKeys, type PinnedIdentity, exportLocalKeys, importLocalKeys } from './keys';
import { hkdf, hmacKey, hmacSign, hmacVerify, randomBytes } from './primitives';
import {
  TDES_MAX_BLOCKS_PER_KEY,
  TDES_MAX_PLAINTEXT_BYTES,
  tdesCbcDecrypt,
  tdesCbcEncrypt,
} from './tdes';

/** A contact's pinned identity keys and when I accepted them (merges keep the later). */
export interface PinnedContact extends PinnedIdentity {
  readonly acceptedAt: number;
}

export interface BackupContents {
  /** The account's keys; sealed without retired prekeys. */
  readonly keys: LocalKeys;
  /** userId → that contact's pinned keys. */
  readonly pinnedContacts: ReadonlyMap<string, PinnedContact>;
}

export type BackupKeyKind = 'password' | 'recovery-key';

/** Where a backup sits in its chain. */
export interface BackupLineage {
  /** 1 for the first backup of an account, then each backup's predecessor's + 1. */
  readonly version: number;
  /** The predecessor's hash; zeros for version 1. */
  readonly previousHash: Uint8Array;
}

export interface BackupHead extends BackupLineage {
  readonly hash: Uint8Array;
}

export interface SealedBackup extends BackupHead {
  readonly blob: Bytes;
}

export interface OpenedBackup extends BackupHead {
  readonly contents: BackupContents;
  readonly keyKind: BackupKeyKind;
}

export const BACKUP_FORMAT = 2;
export const FIRST_BACKUP: BackupLineage = { version: 1, previousHash: new Uint8Array(32) };
/** One backup is one 3DES key: its serialised contents are at most 2^23 - 1 bytes. */
export const MAX_BACKUP_PLAINTEXT_BYTES = TDES_MAX_PLAINTEXT_BYTES;
/** `put-backup` carries the backup inline, like an envelope (24 KB of base64): about 170 pinned
 * contacts. A bigger backup must travel through the blob store (docs/crypto.md). */
export const MAX_INLINE_BACKUP_BYTES = MAX_INLINE_ENVELOPE_BYTES;
export const BACKUP_HEADER_BYTES = 1 + 1 + 8 + 32 + 32 + 4;

const KEY_KINDS: readonly BackupKeyKind[] = ['password', 'recovery-key'];
const SALT_BYTES = 32;
const IV_BYTES = 8;
const MAC_BYTES = 32;
const BLOB_INFO = utf8('cipherline/v2/backup-blob');
const CONTENTS_FORMAT = 2;

export const backupFitsInline = (blob: Uint8Array): boolean =>
  blob.length <= MAX_INLINE_BACKUP_BYTES;

/** The next backup's place in the chain, after `head` (the one it replaces). */
export const nextLineage = (head: BackupHead): BackupLineage => ({
  version: head.version + 1,
  previousHash: head.hash,
});

interface BlobKeys {
  readonly tdesKey: Bytes;
  readonly macKey: CryptoKey;
}

async function blobKeys(backupKey: Uint8Array, salt: Uint8Array): Promise<BlobKeys> {
  if (backupKey.length !== 32) throw new CryptoError('BAD_KEY', 'a backup key has 32 bytes');
  const okm = await hkdf(backupKey, salt, BLOB_INFO, 24 + 32);
  const keys = { tdesKey: okm.slice(0, 24), macKey: await hmacKey(okm.subarray(24)) };
  okm.fill(0);
  return keys;
}

/** Encrypts the contents for the server to store. Fresh salt and IV each time. */
export async function sealBackup(
  backupKey: Uint8Array,
  contents: BackupContents,
  lineage: BackupLineage,
  keyKind: BackupKeyKind = 'password',
): Promise<SealedBackup> {
  checkLineage(lineage);
  const plaintext = await encodeBackupContents(contents);
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
    const header = concatBytes(
      new Uint8Array([BACKUP_FORMAT, KEY_KINDS.indexOf(keyKind) + 1]),
      u64(lineage.version),
      lineage.previousHash,
      salt,
      u32(ciphertext.length),
    );
    const mac = await hmacSign(macKey, concatBytes(header, iv, ciphertext));
    const blob = concatBytes(header, iv, ciphertext, mac);
    const { version, previousHash } = lineage;
    return { blob, version, previousHash, hash: await sha256(blob) };
  } finally {
    tdesKey.fill(0);
    plaintext.fill(0);
  }
}

function checkLineage(lineage: BackupLineage): void {
  if (!Number.isSafeInteger(lineage.version) || lineage.version < 1)
    throw new CryptoError('BAD_INPUT', 'a backup version is an integer from 1');
  if (lineage.previousHash.length !== 32)
    throw new CryptoError('BAD_INPUT', 'a previous backup hash has 32 bytes');
  if (lineage.version === 1 && !bytesEqual(lineage.previousHash, FIRST_BACKUP.previousHash))
    throw new CryptoError('BAD_INPUT', 'backup version 1 has no predecessor');
}

interface ParsedBlob extends BackupHead {
  readonly keyKind: BackupKeyKind;
  readonly salt: Uint8Array;
  readonly iv: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly authenticated: Uint8Array;
  readonly mac: Uint8Array;
}

/** The header of a backup WITHOUT checking it (the MAC needs the key): which key to ask the user
 * for, and which version to name when replacing it. UNSUPPORTED_VERSION or MALFORMED. */
export async function peekBackup(
  blob: Uint8Array,
): Promise<BackupHead & { readonly keyKind: BackupKeyKind }> {
  const { version, previousHash, hash, keyKind } = await parseBlob(blob);
  return { version, previousHash, hash, keyKind };
}

async function parseBlob(blob: Uint8Array): Promise<ParsedBlob> {
  if (blob.length === 0) throw new CryptoError('MALFORMED', 'the backup is empty');
  if (blob[0] !== BACKUP_FORMAT) {
    throw new CryptoError(
      'UNSUPPORTED_VERSION',
      `backup format ${blob[0]} is not ${BACKUP_FORMAT}`,
    );
  }
  if (blob.length < BACKUP_HEADER_BYTES + IV_BYTES + 8 + MAC_BYTES)
    throw new CryptoError('MALFORMED', 'the backup is truncated');
  const keyKind = KEY_KINDS[blob[1]! - 1];
  if (!keyKind) throw new CryptoError('MALFORMED', 'unknown backup key kind');
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const version = view.getBigUint64(2);
  if (version < 1n || version > BigInt(Number.MAX_SAFE_INTEGER))
    throw new CryptoError('MALFORMED', 'the backup version is out of range');
  const previousHash = blob.slice(10, 42);
  const salt = blob.subarray(42, 42 + SALT_BYTES);
  const ciphertextLength = view.getUint32(BACKUP_HEADER_BYTES - 4);
  if (
    ciphertextLength === 0 ||
    ciphertextLength % 8 !== 0 ||
    ciphertextLength > TDES_MAX_BLOCKS_PER_KEY * 8
  ) {
    throw new CryptoError('MALFORMED', 'the backup states an impossible ciphertext length');
  }
  if (blob.length !== BACKUP_HEADER_BYTES + IV_BYTES + ciphertextLength + MAC_BYTES)
    throw new CryptoError('MALFORMED', 'the backup is truncated or has trailing bytes');
  const macStart = blob.length - MAC_BYTES;
  return {
    keyKind,
    version: Number(version),
    previousHash,
    hash: await sha256(blob),
    salt,
    iv: blob.subarray(BACKUP_HEADER_BYTES, BACKUP_HEADER_BYTES + IV_BYTES),
    ciphertext: blob.subarray(BACKUP_HEADER_BYTES + IV_BYTES, macStart),
    authenticated: blob.subarray(0, macStart),
    mac: blob.subarray(macStart),
  };
}

/**
 * Restores the contents. MALFORMED for a truncated or malformed blob, UNSUPPORTED_VERSION for
 * another format, WRONG_PASSWORD when the MAC fails (other key, or altered bytes), and
 * BACKUP_ROLLBACK for an authentic backup older than `lastSeenVersion` (a server serving an old
 * copy: it would un-pin contacts and bring back deleted prekeys).
 */
export async function openBackup(
  backupKey: Uint8Array,
  blob: Uint8Array,
  options: { readonly lastSeenVersion?: number } = {},
): Promise<OpenedBackup> {
  const parsed = await parseBlob(blob);
  const { tdesKey, macKey } = await blobKeys(backupKey, parsed.salt);
  try {
    if (!(await hmacVerify(macKey, parsed.mac, parsed.authenticated)))
      throw new CryptoError('WRONG_PASSWORD', 'wrong password, or the backup was altered');
    if (options.lastSeenVersion !== undefined && parsed.version < options.lastSeenVersion) {
      throw new CryptoError(
        'BACKUP_ROLLBACK',
        `the server served backup version ${parsed.version}, older than version ${options.lastSeenVersion} this device saw`,
      );
    }
    const plaintext = tdesCbcDecrypt(tdesKey, parsed.iv, parsed.ciphertext);
    try {
      const { version, previousHash, hash, keyKind } = parsed;
      return {
        contents: await decodeBackupContents(plaintext),
        version,
        previousHash,
        hash,
        keyKind,
      };
    } finally {
      plaintext.fill(0);
    }
  } finally {
    tdesKey.fill(0);
  }
}

/** The keys as a backup holds them: without retired (superseded) prekeys. */
export function withoutRetiredPrekeys(keys: LocalKeys): LocalKeys {
  return { ...keys, signedPrekeys: keys.signedPrekeys.filter((p) => p.supersededAt === undefined) };
}

/**
 * The plaintext: format u32 (2) ‖ lengthPrefixed(serialised keys without retired prekeys) ‖
 * count u32 ‖ per contact, sorted by user id, lengthPrefixed(userId, identityDh, identitySign,
 * u64 acceptedAt).
 */
export async function encodeBackupContents(contents: BackupContents): Promise<Bytes> {
  const userIds = [...contents.pinnedContacts.keys()].sort();
  const contacts = userIds.map((userId) => {
    const pin = contents.pinnedContacts.get(userId)!;
    if (userId.length === 0) throw new CryptoError('BAD_INPUT', 'a pinned contact needs a user id');
    return lengthPrefixed(utf8(userId), pin.identityDh, pin.identitySign, u64(pin.acceptedAt));
  });
  return concatBytes(
    u32(CONTENTS_FORMAT),
    lengthPrefixed(await exportLocalKeys(withoutRetiredPrekeys(contents.keys))),
    u32(contacts.length),
    ...contacts,
  );
}

export async function decodeBackupContents(plaintext: Uint8Array): Promise<BackupContents> {
  const reader = new ByteReader(plaintext);
  const format = reader.u32();
  if (format !== CONTENTS_FORMAT)
    throw new CryptoError('UNSUPPORTED_VERSION', 'unknown backup contents format');
  const keys = await importLocalKeys(reader.field());
  const count = reader.u32();
  const pinnedContacts = new Map<string, PinnedContact>();
  for (let i = 0; i < count; i++) {
    const userId = reader.idField('user id');
    if (pinnedContacts.has(userId))
      throw new CryptoError('MALFORMED', 'a contact appears twice in the backup');
    pinnedContacts.set(userId, {
      identityDh: reader.field().slice(),
      identitySign: reader.field().slice(),
      acceptedAt: reader.u64Field('accepted at'),
    });
  }
  reader.end('backup contents');
  return { keys, pinnedContacts };
}
