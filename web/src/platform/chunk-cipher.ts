/**
 * The session's ChunkCipherFactory in the browser: a pool of module Web Workers running
 * client/crypto/file-worker.ts, so 3DES over a file's chunks never runs on the page's thread.
 * Vite sees the `new Worker(new URL(...), { type: 'module' })` below and bundles the worker as its
 * own file (it is fetched only when the first file is encrypted or decrypted).
 */
import { createWebWorkerChunkCipher, type ChunkCipher } from '../../../client/crypto/file-cipher';

/** Most workers a pool starts: chunks are 1 MiB and each worker holds about two at a time. */
export const MAX_CHUNK_WORKERS = 4;

/**
 * One worker per logical core, at most MAX_CHUNK_WORKERS. Even on a 2-core phone two workers beat
 * one (docs/benchmarks.md: 1.6-1.9× in Chromium on 2 cores): the page itself is idle while a file
 * moves (stream plumbing and fetch), so it needs no core of its own.
 */
export function chunkWorkerCount(hardwareConcurrency: number | undefined): number {
  const cores = Number.isInteger(hardwareConcurrency) ? (hardwareConcurrency as number) : 2;
  return Math.min(MAX_CHUNK_WORKERS, Math.max(1, cores));
}

const startAppWorker = (): Worker =>
  new Worker(new URL('../../../client/crypto/file-worker.ts', import.meta.url), {
    type: 'module',
    name: 'cipherline-file-chunks',
  });

/**
 * Makes the pool (call it from the session's `cipher` option: made on the first file, closed by
 * the session's close). `startWorker` is for tests that serve the worker from elsewhere.
 */
export function createBrowserChunkCipher(
  startWorker: () => Worker = startAppWorker,
  size = chunkWorkerCount(globalThis.navigator?.hardwareConcurrency),
): ChunkCipher {
  return createWebWorkerChunkCipher(startWorker, size);
}
