/**
 * One encrypted file chunk (DESIGN.md section 4, Files): the unit that is encrypted, MACed and
 * verified on its own, so chunks can be handled in parallel and a file never has to be held whole.
 *
 *   chunk  = header (14 bytes) ‖ IV (8) ‖ 3DES-EDE3-CBC ciphertext (PKCS#7) ‖ HMAC-SHA256 (32)
 *   header = version u8 (1) ‖ flags u8 (bit 0: last chunk) ‖ index u32 ‖ plaintext length u32
 *            ‖ ciphertext length u32 (big-endian)
 *   keys   = HKDF-SHA256(file key, salt = empty,
 *                        info = "cipherline/v1/file-chunk" ‖ lengthPrefixed(blob id, u32(index)))
 *            → 24 bytes 3DES key ‖ 32 bytes MAC key
 *
 * The MAC covers exactly header ‖ IV ‖ ciphertext, so it binds the index and the last-chunk flag;
 * the keys bind the blob id and the file key. A blob is the plain concatenation of its chunks; the
 * ciphertext length in each header is what lets a reader split it again. That length must be read
 * before the MAC can be checked, so it is checked against the plaintext length first (PKCS#7 fixes
 * one from the other): an altered length byte is caught as BAD_MAC at once, instead of making the
 * reader wait for bytes that never come and report a cut blob.
 *
 * The verifier derives the keys from the index the header *claims*, checks the MAC, and only then
 * acts on any header field but the lengths: an altered byte anywhere is BAD_MAC, while an
 * authentic chunk of this file at the wrong place is CHUNK_ORDER. A chunk's plaintext is at most 1 MiB, so no 3DES key
 * encrypts more than 2^17 + 1 blocks (the limit is 2^20).
 */
import { CryptoError } from '../../protocol/crypto-error';
import { hkdf, hmacKey, hmacSign, hmacVerify, randomBytes } from './primitives';
import { tdesCbcDecrypt, tdesCbcEncrypt } from './tdes';
import { type Bytes, concatBytes, lengthPrefixed, u32, utf8 } from '../../protocol/bytes';

export const FILE_FORMAT_VERSION = 1;
/** The largest (and default) plaintext per chunk. */
export const MAX_CHUNK_SIZE = 1024 * 1024;
export const FILE_KEY_BYTES = 32;
export const CHUNK_HEADER_BYTES = 14;
const IV_BYTES = 8;
const MAC_BYTES = 32;
const TDES_KEY_BYTES = 24;
/** Header, IV and MAC around the ciphertext. */
export const CHUNK_FRAME_BYTES = CHUNK_HEADER_BYTES + IV_BYTES + MAC_BYTES;
const LAST_CHUNK_FLAG = 1;
const MAX_BLOB_ID_BYTES = 256;
const CHUNK_KDF_LABEL = utf8('cipherline/v1/file-chunk');

/** PKCS#7 always adds 1 to 8 bytes. */
const ciphertextLengthOf = (plaintextLength: number): number =>
  plaintextLength - (plaintextLength % 8) + 8;

/** Size of the encrypted chunk holding `plaintextLength` bytes. */
export const encryptedChunkLength = (plaintextLength: number): number =>
  CHUNK_FRAME_BYTES + ciphertextLengthOf(plaintextLength);

export interface ChunkEncryptJob {
  fileKey: Uint8Array;
  blobId: string;
  index: number;
  last: boolean;
  plaintext: Uint8Array;
}

export interface ChunkDecryptJob {
  fileKey: Uint8Array;
  blobId: string;
  /** The position the reader expects this chunk at. */
  index: number;
  chunk: Uint8Array;
}

export interface DecryptedChunk {
  plaintext: Bytes;
  last: boolean;
}

export function checkFileKeyAndBlobId(fileKey: Uint8Array, blobId: string): void {
  if (fileKey.length !== FILE_KEY_BYTES) {
    throw new CryptoError(
      'BAD_KEY',
      `a file key has ${FILE_KEY_BYTES} bytes, got ${fileKey.length}`,
    );
  }
  const idBytes = utf8(blobId).length;
  if (idBytes === 0 || idBytes > MAX_BLOB_ID_BYTES) {
    throw new CryptoError('BAD_INPUT', `a blob id has 1 to ${MAX_BLOB_ID_BYTES} bytes`);
  }
}

function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) {
    throw new CryptoError('BAD_INPUT', 'a chunk index is a u32');
  }
}

async function chunkKeys(
  fileKey: Uint8Array,
  blobId: string,
  index: number,
): Promise<{ tdesKey: Bytes; macKey: CryptoKey }> {
  const info = concatBytes(CHUNK_KDF_LABEL, lengthPrefixed(utf8(blobId), u32(index)));
  const okm = await hkdf(fileKey, new Uint8Array(0), info, TDES_KEY_BYTES + MAC_BYTES);
  return {
    tdesKey: okm.subarray(0, TDES_KEY_BYTES),
    macKey: await hmacKey(okm.subarray(TDES_KEY_BYTES)),
  };
}

function writeHeader(out: Uint8Array, index: number, last: boolean, plaintextLength: number): void {
  const view = new DataView(out.buffer, out.byteOffset, CHUNK_HEADER_BYTES);
  view.setUint8(0, FILE_FORMAT_VERSION);
  view.setUint8(1, last ? LAST_CHUNK_FLAG : 0);
  view.setUint32(2, index);
  view.setUint32(6, plaintextLength);
  view.setUint32(10, ciphertextLengthOf(plaintextLength));
}

interface ChunkHeader {
  version: number;
  flags: number;
  index: number;
  plaintextLength: number;
  ciphertextLength: number;
}

function readHeader(chunk: Uint8Array): ChunkHeader {
  const view = new DataView(chunk.buffer, chunk.byteOffset, CHUNK_HEADER_BYTES);
  return {
    version: view.getUint8(0),
    flags: view.getUint8(1),
    index: view.getUint32(2),
    plaintextLength: view.getUint32(6),
    ciphertextLength: view.getUint32(10),
  };
}

/**
 * Framing: the length of the whole encrypted chunk that starts with `header`, read before the MAC
 * can be checked. Lengths no encoder writes can only come from tampering, hence BAD_MAC.
 */
export function encryptedLengthFromHeader(header: Uint8Array): number {
  const { plaintextLength, ciphertextLength } = readHeader(header);
  if (
    plaintextLength > MAX_CHUNK_SIZE ||
    ciphertextLength !== ciphertextLengthOf(plaintextLength)
  ) {
    throw new CryptoError('BAD_MAC', 'file chunk header is not authentic (impossible lengths)');
  }
  return CHUNK_FRAME_BYTES + ciphertextLength;
}

export async function encryptChunk(job: ChunkEncryptJob): Promise<Bytes> {
  checkFileKeyAndBlobId(job.fileKey, job.blobId);
  checkIndex(job.index);
  if (job.plaintext.length > MAX_CHUNK_SIZE) {
    throw new CryptoError('BAD_LENGTH', `a file chunk holds at most ${MAX_CHUNK_SIZE} bytes`);
  }
  const { tdesKey, macKey } = await chunkKeys(job.fileKey, job.blobId, job.index);
  const iv = randomBytes(IV_BYTES);
  const ciphertext = tdesCbcEncrypt(tdesKey, iv, job.plaintext);
  const out = new Uint8Array(CHUNK_FRAME_BYTES + ciphertext.length);
  writeHeader(out, job.index, job.last, job.plaintext.length);
  out.set(iv, CHUNK_HEADER_BYTES);
  out.set(ciphertext, CHUNK_HEADER_BYTES + IV_BYTES);
  const macStart = out.length - MAC_BYTES;
  out.set(await hmacSign(macKey, out.subarray(0, macStart)), macStart);
  return out;
}

/** Verifies the MAC first; only an authentic chunk is interpreted and decrypted. */
export async function decryptChunk(job: ChunkDecryptJob): Promise<DecryptedChunk> {
  checkFileKeyAndBlobId(job.fileKey, job.blobId);
  const { chunk } = job;
  if (chunk.length < CHUNK_HEADER_BYTES || encryptedLengthFromHeader(chunk) !== chunk.length) {
    throw new CryptoError('BAD_MAC', 'file chunk length does not match its header');
  }
  const header = readHeader(chunk);
  const { tdesKey, macKey } = await chunkKeys(job.fileKey, job.blobId, header.index);
  const macStart = chunk.length - MAC_BYTES;
  if (!(await hmacVerify(macKey, chunk.subarray(macStart), chunk.subarray(0, macStart)))) {
    throw new CryptoError('BAD_MAC', `file chunk ${job.index}: MAC check failed`);
  }
  // Authentic from here on: whoever wrote these fields held the file key.
  if (header.version !== FILE_FORMAT_VERSION) {
    throw new CryptoError('UNSUPPORTED_VERSION', `file chunk version ${header.version}`);
  }
  if ((header.flags & ~LAST_CHUNK_FLAG) !== 0) {
    throw new CryptoError('MALFORMED', 'file chunk has unknown flags');
  }
  if (header.index !== job.index) {
    throw new CryptoError('CHUNK_ORDER', `expected file chunk ${job.index}, got ${header.index}`);
  }
  const ivEnd = CHUNK_HEADER_BYTES + IV_BYTES;
  const plaintext = tdesCbcDecrypt(
    tdesKey,
    chunk.subarray(CHUNK_HEADER_BYTES, ivEnd),
    chunk.subarray(ivEnd, macStart),
  );
  if (plaintext.length !== header.plaintextLength) {
    throw new CryptoError('MALFORMED', 'file chunk plaintext length differs from its header');
  }
  return { plaintext, last: (header.flags & LAST_CHUNK_FLAG) !== 0 };
}
