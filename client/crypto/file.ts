/**
 * File encryption as streams (DESIGN.md section 4, Files; format in file-format.ts, documented in
 * docs/crypto.md "Files"). A fresh random file key and blob id per file; the plaintext is cut into
 * chunks of at most 1 MiB, each encrypted and MACed under its own keys; the blob is the
 * concatenation of the encrypted chunks. Both directions hold only a few chunks at a time, take an
 * optional ChunkCipher (e.g. a worker pool) and keep the output in order.
 *
 * The envelope's `digest` is the SHA-256 of the *plaintext*: the chunk MACs already vouch for
 * every ciphertext byte, but only a plaintext digest checks, end to end, what the recipient finally
 * gets — through our own 3DES and the pool's reordering — and it is sealed in the envelope, so the
 * server never sees it.
 */
import { createSHA256 } from 'hash-wasm';
import { CryptoError } from '../../protocol/crypto-error';
import { type ChunkCipher, inThreadChunkCipher } from './file-cipher';
import {
  FILE_KEY_BYTES,
  MAX_CHUNK_SIZE,
  type DecryptedChunk,
  checkFileKeyAndBlobId,
} from './file-format';
import {
  type ByteSource,
  type PlainChunk,
  type SplitItem,
  cutIntoChunks,
  mapInOrder,
  splitIntoChunks,
  toAsyncIterable,
} from './file-plumbing';
import { randomBytes } from './primitives';
import { type Bytes, bytesEqual } from '../../protocol/bytes';

export { MAX_CHUNK_SIZE, encryptedChunkLength } from './file-format';
export { toReadableStream, type ByteSource } from './file-plumbing';
export {
  type ChunkCipher,
  ChunkWorkerPool,
  createWebWorkerChunkCipher,
  inThreadChunkCipher,
} from './file-cipher';

/** A new random 32-byte file key: one per file, never reused. */
export const newFileKey = (): Bytes => randomBytes(FILE_KEY_BYTES);

/** A new random blob id: 128 bits as 32 lowercase hex digits (safe in S3 keys and URLs). */
export function newBlobId(): string {
  return Array.from(randomBytes(16), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Anything with `update`, e.g. hash-wasm's hasher from createFileDigest(). */
export interface PlaintextDigest {
  update(data: Uint8Array): unknown;
}

export interface FileDigest extends PlaintextDigest {
  /** The SHA-256 of everything fed so far (call once, at the end). */
  digest(): Bytes;
}

/** An incremental SHA-256 (hash-wasm: Node, browsers and workers; WebCrypto has no incremental hash). */
export async function createFileDigest(): Promise<FileDigest> {
  const hasher = await createSHA256();
  hasher.init();
  return {
    update: (data) => hasher.update(data),
    digest: () => hasher.digest('binary') as Bytes,
  };
}

interface FileStreamOptions {
  fileKey: Uint8Array;
  blobId: string;
  /** Who does the chunk work; default: this thread. */
  cipher?: ChunkCipher;
  /**
   * Chunks in flight at once (memory ≈ this many chunks). Default: twice the cipher's
   * parallelism, so each worker of a pool finds its next chunk queued when it finishes one.
   */
  concurrency?: number;
  /** Plaintext bytes done so far, after each chunk; `totalBytes` is passed through if given. */
  onProgress?: (doneBytes: number, totalBytes?: number) => void;
  totalBytes?: number;
}

export interface EncryptFileOptions extends FileStreamOptions {
  /** Plaintext bytes per chunk, 1 to 1 MiB (default 1 MiB). */
  chunkSize?: number;
  /** Fed the plaintext in order, e.g. createFileDigest() for the envelope's digest. */
  plaintextDigest?: PlaintextDigest;
}

export interface DecryptFileOptions extends FileStreamOptions {
  /** The envelope's SHA-256 of the plaintext; a mismatch ends the stream with BAD_DIGEST. */
  expectedDigest?: Uint8Array;
}

function concurrencyOf(options: FileStreamOptions, cipher: ChunkCipher): number {
  const concurrency = options.concurrency ?? 2 * cipher.parallelism;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new CryptoError('BAD_INPUT', 'concurrency must be an integer from 1 to 64');
  }
  return concurrency;
}

/** Feeds each chunk to the digest in order, before a cipher may transfer (detach) its buffer. */
async function* digestedInOrder(
  chunks: AsyncIterable<PlainChunk>,
  digest: PlaintextDigest | undefined,
): AsyncGenerator<PlainChunk> {
  for await (const chunk of chunks) {
    digest?.update(chunk.bytes);
    yield chunk;
  }
}

/** Yields the encrypted chunks of `source`, in order; their concatenation is the blob. */
export async function* encryptFileStream(
  source: ByteSource,
  options: EncryptFileOptions,
): AsyncGenerator<Bytes> {
  const { fileKey, blobId, onProgress, totalBytes, plaintextDigest } = options;
  checkFileKeyAndBlobId(fileKey, blobId);
  const chunkSize = options.chunkSize ?? MAX_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
    throw new CryptoError('BAD_INPUT', `chunk size must be an integer from 1 to ${MAX_CHUNK_SIZE}`);
  }
  const cipher = options.cipher ?? inThreadChunkCipher;
  const chunks = digestedInOrder(
    cutIntoChunks(toAsyncIterable(source), chunkSize),
    plaintextDigest,
  );
  const encrypt = async ({ bytes, last }: PlainChunk, index: number) => {
    const length = bytes.length; // read before a worker pool transfers (detaches) the buffer
    const chunk = await cipher.encryptChunk({ fileKey, blobId, index, last, plaintext: bytes });
    return { chunk, length };
  };
  let done = 0;
  for await (const outcome of mapInOrder(chunks, concurrencyOf(options, cipher), encrypt)) {
    if (!outcome.ok) throw outcome.error;
    done += outcome.value.length;
    onProgress?.(done, totalBytes);
    yield outcome.value.chunk;
  }
}

type DecryptOutcome = DecryptedChunk | Exclude<SplitItem, { kind: 'chunk' }>;

/**
 * Yields the plaintext of a blob, chunk by chunk, each verified before it is decrypted. The
 * output is only complete and authentic once the stream has ended without error: a cut blob,
 * reordered or dropped chunks, trailing data or a digest mismatch are found on the way or at the
 * end (TRUNCATED, CHUNK_ORDER, MALFORMED, BAD_MAC, BAD_DIGEST), so a caller writes to a temporary
 * place and keeps it only then.
 */
export async function* decryptFileStream(
  source: ByteSource,
  options: DecryptFileOptions,
): AsyncGenerator<Bytes> {
  const { fileKey, blobId, onProgress, totalBytes, expectedDigest } = options;
  checkFileKeyAndBlobId(fileKey, blobId);
  const cipher = options.cipher ?? inThreadChunkCipher;
  const digest = expectedDigest ? await createFileDigest() : null;
  // Only the position of each item is decided here; the MAC and order checks run in the cipher.
  const decrypt = (item: SplitItem, index: number): Promise<DecryptOutcome> =>
    item.kind === 'chunk'
      ? cipher.decryptChunk({ fileKey, blobId, index, chunk: item.bytes })
      : Promise.resolve(item);
  let done = 0;
  let sawLast = false;
  const items = splitIntoChunks(toAsyncIterable(source));
  for await (const outcome of mapInOrder(items, concurrencyOf(options, cipher), decrypt)) {
    if (sawLast) throw new CryptoError('MALFORMED', 'data after the last chunk of the file');
    if (!outcome.ok) throw outcome.error;
    const item = outcome.value;
    if ('kind' in item) {
      if (item.kind === 'bad-length') throw item.error;
      throw new CryptoError('TRUNCATED', 'the file ends inside a chunk');
    }
    digest?.update(item.plaintext);
    done += item.plaintext.length;
    sawLast = item.last;
    onProgress?.(done, totalBytes);
    yield item.plaintext;
  }
  if (!sawLast) throw new CryptoError('TRUNCATED', 'the file ends before its last chunk');
  if (digest && expectedDigest && !bytesEqual(digest.digest(), expectedDigest)) {
    throw new CryptoError('BAD_DIGEST', 'the file does not match the digest of its envelope');
  }
}
