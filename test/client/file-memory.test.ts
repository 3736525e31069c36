/**
 * A 100 MiB file through encryption and straight into decryption, as streams, never held whole:
 * the plaintext digest must survive the trip and memory must stay flat. In this thread (the
 * default cipher), so the figures are the stream code's own; a worker pool adds its workers' GC
 * slack (docs/crypto.md, Files). Generous timeout: two 3DES passes at about 25 MB/s take 8 s or
 * more on this shared 2-core machine.
 */
import { createSHA256 } from 'hash-wasm';
import { expect, it } from 'vitest';
import {
  decryptFileStream,
  encryptFileStream,
  newBlobId,
  newFileKey,
} from '../../client/crypto/file';
import { randomBytes } from '../../client/crypto/primitives';

const MiB = 1024 * 1024;
const FILE_BYTES = 100 * MiB;
/** Pieces that do not line up with the 1 MiB chunks, as a file reader would hand them out. */
const PIECE_BYTES = 300_000;
/** Far below the 100 MiB that holding the file (or the blob) would take. */
const MAX_GROWTH = 64 * MiB;

/** Encrypts `fileBytes` of generated data and decrypts the chunks as they come. */
async function* roundTrip(
  fileBytes: number,
  sourceDigest: { update(data: Uint8Array): unknown },
): AsyncGenerator<Uint8Array> {
  const base = randomBytes(PIECE_BYTES);
  async function* generatedFile(): AsyncGenerator<Uint8Array> {
    for (let done = 0, n = 0; done < fileBytes; n++) {
      const piece = base.slice(0, Math.min(PIECE_BYTES, fileBytes - done));
      new DataView(piece.buffer).setUint32(0, n); // every piece differs
      sourceDigest.update(piece);
      done += piece.length;
      yield piece;
    }
  }
  const fileKey = newFileKey();
  const blobId = newBlobId();
  yield* decryptFileStream(encryptFileStream(generatedFile(), { fileKey, blobId }), {
    fileKey,
    blobId,
  });
}

it('a 100 MiB file round-trips as a stream with flat memory', { timeout: 120_000 }, async () => {
  // A small file first, so one-time costs (compiled code, WASM, tables) are in the baseline.
  for await (const _ of roundTrip(4 * MiB, { update: () => {} })) {
    // drain
  }
  const sourceDigest = await createSHA256();
  const before = process.memoryUsage();
  let peakRss = before.rss;
  let peakHeapAndBuffers = before.heapUsed + before.arrayBuffers;
  let plaintextBytes = 0;
  const resultDigest = await createSHA256();
  const started = performance.now();

  for await (const plain of roundTrip(FILE_BYTES, sourceDigest)) {
    resultDigest.update(plain);
    plaintextBytes += plain.length;
    const now = process.memoryUsage();
    peakRss = Math.max(peakRss, now.rss);
    peakHeapAndBuffers = Math.max(peakHeapAndBuffers, now.heapUsed + now.arrayBuffers);
  }

  const seconds = (performance.now() - started) / 1000;
  const rssGrowth = peakRss - before.rss;
  const heapGrowth = peakHeapAndBuffers - (before.heapUsed + before.arrayBuffers);
  console.log(
    `100 MiB encrypt→decrypt: ${seconds.toFixed(1)} s; peak growth rss ${(rssGrowth / MiB).toFixed(1)} MiB, ` +
      `heap+buffers ${(heapGrowth / MiB).toFixed(1)} MiB`,
  );
  expect(plaintextBytes).toBe(FILE_BYTES);
  expect(resultDigest.digest('hex')).toBe(sourceDigest.digest('hex'));
  expect(rssGrowth).toBeLessThan(MAX_GROWTH);
  expect(heapGrowth).toBeLessThan(MAX_GROWTH);
});
