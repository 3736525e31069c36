/**
 * Safety numbers, as Signal's (DESIGN.md section 4): two people compare 60 digits, or one scans
 * the other's QR code, and so learn that no server swapped the keys between them.
 *
 * The iteration is libsignal's NumericFingerprintGenerator (signalapp/libsignal,
 * rust/protocol/src/fingerprint.rs, `Fingerprint::get_fingerprint`; the older Java
 * DisplayableFingerprint.getDisplayStringFor is the same loop): per side,
 *   hash = version(2 bytes, 0x0000) ‖ key ‖ stable id;  5200 times: hash = SHA-512(hash ‖ key)
 * then 30 digits from the first 30 bytes (6 chunks of 5 bytes, each a big-endian 40-bit number
 * mod 100000, written with 5 digits). The two halves are ordered by comparing their digit strings,
 * so both sides show the same 60 digits. Cipherline's adaptation: a side's "key" is its X25519
 * identity key followed by its Ed25519 key (32 + 32 bytes, fixed length, so key ‖ id stays
 * unambiguous); the stable id is the UTF-8 user id. The QR data follows libsignal's scannable
 * fingerprint version 1 (version, local 32 bytes, remote 32 bytes) but as plain bytes, not protobuf.
 */
import { createSHA512 } from 'hash-wasm';
import { CryptoError } from '../../protocol/crypto-error';
import { bytesEqual, concatBytes, utf8, type Bytes } from '../../protocol/bytes';

/** libsignal's count: "5200 > 112 bits" of work for a second-preimage on 30 digits. */
export const SAFETY_NUMBER_ITERATIONS = 5200;
/** The version inside the hashed input (libsignal's fingerprint_version, 0x0000). */
const FINGERPRINT_HASH_VERSION = new Uint8Array([0, 0]);
/** Version byte of the QR data. */
export const SAFETY_QR_VERSION = 1;
const QR_FINGERPRINT_BYTES = 32;
const QR_DATA_LENGTH = 1 + 2 * QR_FINGERPRINT_BYTES;
const PUBLIC_KEY_BYTES = 32;

export interface SafetyParty {
  /** The stable user id (the normalised username). */
  readonly userId: string;
  /** Raw X25519 identity public key, 32 bytes. */
  readonly identityDh: Uint8Array;
  /** Raw Ed25519 public key, 32 bytes. */
  readonly identitySign: Uint8Array;
}

export interface SafetyNumber {
  /** 60 decimal digits, identical on both sides. */
  readonly digits: string;
  /** The same digits as 12 groups of 5, for display. */
  readonly groups: readonly string[];
  /** What this side's QR code encodes: version ‖ my fingerprint ‖ their fingerprint. */
  readonly qrData: Bytes;
}

/** The libsignal iteration, over arbitrary key material and stable id: 64 bytes. */
export async function iteratedFingerprint(
  keyMaterial: Uint8Array,
  stableId: Uint8Array,
  iterations: number = SAFETY_NUMBER_ITERATIONS,
): Promise<Bytes> {
  if (!Number.isSafeInteger(iterations) || iterations < 2) {
    throw new CryptoError('BAD_INPUT', 'fingerprint iterations must be an integer of at least 2');
  }
  // hash-wasm's SHA-512 runs synchronously after setup: 5200 rounds take ~30 ms in Node,
  // against ~400 ms for 5200 awaited crypto.subtle.digest calls.
  const sha512 = await createSHA512();
  let hash: Uint8Array = concatBytes(FINGERPRINT_HASH_VERSION, keyMaterial, stableId);
  for (let i = 0; i < iterations; i++) {
    sha512.init();
    sha512.update(hash);
    sha512.update(keyMaterial);
    hash = sha512.digest('binary');
  }
  return new Uint8Array(hash);
}

/** 30 digits from the first 30 bytes of a fingerprint (libsignal `get_encoded_string`). */
export function fingerprintDigits(fingerprint: Uint8Array): string {
  if (fingerprint.length < 30)
    throw new CryptoError('BAD_LENGTH', 'a fingerprint has at least 30 bytes');
  let digits = '';
  for (let offset = 0; offset < 30; offset += 5) {
    let chunk = 0; // 40 bits fit exactly in a double
    for (let i = 0; i < 5; i++) chunk = chunk * 256 + fingerprint[offset + i]!;
    digits += String(chunk % 100000).padStart(5, '0');
  }
  return digits;
}

async function sideFingerprint(party: SafetyParty): Promise<Bytes> {
  for (const [name, key] of [
    ['identityDh', party.identityDh],
    ['identitySign', party.identitySign],
  ] as const) {
    if (key.length !== PUBLIC_KEY_BYTES) {
      throw new CryptoError(
        'BAD_KEY',
        `${name} of ${party.userId} must be a raw 32-byte public key`,
      );
    }
  }
  if (party.userId.length === 0)
    throw new CryptoError('BAD_INPUT', 'a safety number needs user ids');
  return iteratedFingerprint(concatBytes(party.identityDh, party.identitySign), utf8(party.userId));
}

/** The safety number between me (`local`) and a contact (`remote`), as both will see it. */
export async function computeSafetyNumber(
  local: SafetyParty,
  remote: SafetyParty,
): Promise<SafetyNumber> {
  const [mine, theirs] = await Promise.all([sideFingerprint(local), sideFingerprint(remote)]);
  const myDigits = fingerprintDigits(mine);
  const theirDigits = fingerprintDigits(theirs);
  const digits = myDigits <= theirDigits ? myDigits + theirDigits : theirDigits + myDigits;
  const qrData = concatBytes(
    new Uint8Array([SAFETY_QR_VERSION]),
    mine.subarray(0, QR_FINGERPRINT_BYTES),
    theirs.subarray(0, QR_FINGERPRINT_BYTES),
  );
  return { digits, groups: digits.match(/\d{5}/g) ?? [], qrData };
}

/** "12345 67890 …": 12 groups of 5 digits, as shown on screen. */
export function formatSafetyNumber(digits: string): string {
  if (!/^\d{60}$/.test(digits)) throw new CryptoError('BAD_INPUT', 'a safety number has 60 digits');
  return (digits.match(/\d{5}/g) ?? []).join(' ');
}

/**
 * True when a QR code scanned from the contact's screen shows the same pair of keys as mine:
 * its "mine" is my "theirs" and the other way round. A QR code from another app or a damaged one
 * is MALFORMED, one from a client with another format UNSUPPORTED_VERSION; false means the keys
 * differ (a key changed, or someone is in the middle).
 */
export function compareScannedSafetyData(mine: Uint8Array, scanned: Uint8Array): boolean {
  for (const data of [mine, scanned]) {
    if (data.length === 0) throw new CryptoError('MALFORMED', 'empty safety-number data');
    if (data[0] !== SAFETY_QR_VERSION) {
      throw new CryptoError(
        'UNSUPPORTED_VERSION',
        `safety-number data version ${data[0]} is not ${SAFETY_QR_VERSION}`,
      );
    }
    if (data.length !== QR_DATA_LENGTH) {
      throw new CryptoError('MALFORMED', `safety-number data must be ${QR_DATA_LENGTH} bytes`);
    }
  }
  const half = (data: Uint8Array, index: 0 | 1): Uint8Array =>
    data.subarray(1 + index * QR_FINGERPRINT_BYTES, 1 + (index + 1) * QR_FINGERPRINT_BYTES);
  // Evaluate both comparisons (no early exit); the data is public anyway.
  const theirsMatches = bytesEqual(half(scanned, 0), half(mine, 1));
  const mineMatches = bytesEqual(half(scanned, 1), half(mine, 0));
  return theirsMatches && mineMatches;
}
