/**
 * Browser side of the Chromium block of test/client/file.test.ts: file streams in a page with a
 * pool of real Web Workers (client/crypto/file-worker.ts), and in this thread in a page or a
 * worker. Returns what happened; all assertions happen in Node.
 */
import { CryptoError } from '../../../protocol/crypto-error';
import {
  createFileDigest,
  decryptFileStream,
  encryptedChunkLength,
  encryptFileStream,
  newBlobId,
  newFileKey,
  toReadableStream,
  type ChunkCipher,
} from '../../../client/crypto/file';
import {
  createWebWorkerChunkCipher,
  inThreadChunkCipher,
} from '../../../client/crypto/file-cipher';
import { randomBytes } from '../../../client/crypto/primitives';
import { type Bytes, bytesEqual, concatBytes } from '../../../protocol/bytes';

export interface FileBrowserInput {
  /** URL of the bundled file-worker.ts; absent: no pool (e.g. when run inside a worker). */
  workerUrl?: string;
  fileBytes: number;
  chunkSize: number;
}

export interface FileBrowserOutput {
  /** One entry per round trip: which ciphers encrypted and decrypted, and whether it matched. */
  roundTrips: { encryptWith: string; decryptWith: string; ok: boolean }[];
  /** Error codes of tampered blobs decrypted with the pool (or this thread). */
  tamperCodes: { dropped: string; altered: string; truncated: string };
  digestOk: boolean;
}

async function collect(stream: AsyncIterable<Bytes>): Promise<Bytes> {
  const parts: Bytes[] = [];
  for await (const part of stream) parts.push(part);
  return concatBytes(...parts);
}

/** A native browser ReadableStream of the bytes, in odd-sized pieces. */
function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + 5000));
      at += 5000;
    },
  });
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'no error';
  } catch (error) {
    return error instanceof CryptoError ? error.code : String(error);
  }
}

export default async function run(input: FileBrowserInput): Promise<FileBrowserOutput> {
  const pool = input.workerUrl
    ? createWebWorkerChunkCipher(() => new Worker(input.workerUrl!, { type: 'module' }), 2)
    : null;
  const ciphers: [string, ChunkCipher][] = [['thread', inThreadChunkCipher]];
  if (pool) ciphers.push(['web workers', pool]);
  const plaintext = randomBytes(input.fileBytes);
  const fileKey = newFileKey();
  const blobId = newBlobId();
  const { chunkSize } = input;
  try {
    const roundTrips: FileBrowserOutput['roundTrips'] = [];
    const blobs = new Map<string, Bytes>();
    for (const [name, cipher] of ciphers) {
      blobs.set(
        name,
        await collect(
          encryptFileStream(streamOf(plaintext), { fileKey, blobId, chunkSize, cipher }),
        ),
      );
    }
    for (const [encryptWith, blob] of blobs) {
      for (const [decryptWith, cipher] of ciphers) {
        const source = toReadableStream(
          (async function* () {
            yield blob;
          })(),
        );
        const back = await collect(decryptFileStream(source, { fileKey, blobId, cipher }));
        roundTrips.push({ encryptWith, decryptWith, ok: bytesEqual(back, plaintext) });
      }
    }

    const cipher = pool ?? inThreadChunkCipher;
    const blob = blobs.get(pool ? 'web workers' : 'thread')!;
    const decrypt = (bytes: Uint8Array) =>
      collect(decryptFileStream(streamOf(bytes), { fileKey, blobId, cipher }));
    const altered = blob.slice();
    altered[Math.floor(altered.length / 2)]! ^= 1;
    const tamperCodes = {
      dropped: await codeOf(decrypt(blob.subarray(encryptedChunkLength(chunkSize)))),
      altered: await codeOf(decrypt(altered)),
      truncated: await codeOf(decrypt(blob.subarray(0, blob.length - 1))),
    };

    const digest = await createFileDigest();
    await collect(
      encryptFileStream(streamOf(plaintext), {
        fileKey,
        blobId,
        chunkSize,
        plaintextDigest: digest,
      }),
    );
    const expected = new Uint8Array(await crypto.subtle.digest('SHA-256', plaintext));
    return { roundTrips, tamperCodes, digestOk: bytesEqual(digest.digest(), expected) };
  } finally {
    await pool?.close();
  }
}
