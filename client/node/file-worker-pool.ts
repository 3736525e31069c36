/**
 * The terminal client's chunk worker pool: Node worker_threads, each running
 * file-chunk-worker.ts, behind the same ChunkWorkerPool as the browser's Web Workers.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  ChunkWorkerPool,
  type ChunkWorkerPort,
  type ChunkWorkerResponse,
} from '../crypto/file-cipher';

/** Loaded from source (.ts, under tsx or vitest) or built (.js): the entry is the same kind. */
const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const BOOT_URL = new URL('./file-worker-boot.mjs', import.meta.url);
const ENTRY_URL = new URL(`./file-chunk-worker${extension}`, import.meta.url);

function nodeWorkerPort(worker: Worker): ChunkWorkerPort {
  // An idle worker must not keep the process alive, a busy one must (its answer is awaited), and
  // so must one being terminated: terminate() refs it until it has exited, and nothing may unref
  // it after that (the pool's failure handling would, when the first worker's 'exit' arrives),
  // else a caller awaiting close() could see the process end before it resumes.
  let terminating = false;
  worker.unref();
  return {
    // Copied, not transferred (both ways): in Node 20's V8, once an isolate has detached any
    // ArrayBuffer, every typed-array access checks for detachment and our 3DES runs about 10 %
    // slower (docs/benchmarks.md, 3DES). Copying a 1 MiB chunk costs 0.2-0.7 ms of the ~40 ms
    // its 3DES takes; measured, the copying pool is the faster one.
    post: (request) => worker.postMessage(request),
    listen: (onResponse, onFailure) => {
      worker.on('message', (response: ChunkWorkerResponse) => onResponse(response));
      worker.on('error', (error) => onFailure(error));
      worker.on('exit', (code) => onFailure(new Error(`chunk worker exited with code ${code}`)));
    },
    setBusy: (busy) => {
      if (!terminating) (busy ? worker.ref : worker.unref).call(worker);
    },
    terminate: () => {
      terminating = true;
      return worker.terminate();
    },
  };
}

/** What a bundled program's workers find in `workerData.role` (see cli/entry.ts). */
export const CHUNK_WORKER_ROLE = 'cipherline-chunk-worker';

/**
 * A pool of `size` worker threads (default: one per core, at least 2). Call close() when done.
 * `bundleEntry`: a one-file build (the terminal client's) runs its own file as the worker, which
 * starts file-chunk-worker when `workerData.role` is CHUNK_WORKER_ROLE.
 */
export function createNodeWorkerChunkCipher(
  size = Math.max(2, availableParallelism()),
  bundleEntry?: URL,
): ChunkWorkerPool {
  if (!Number.isInteger(size) || size < 1) throw new RangeError('pool size must be ≥ 1');
  const start = () =>
    bundleEntry
      ? new Worker(bundleEntry, { workerData: { role: CHUNK_WORKER_ROLE } })
      : new Worker(BOOT_URL, { workerData: { entry: ENTRY_URL.href } });
  return new ChunkWorkerPool(Array.from({ length: size }, () => nodeWorkerPort(start())));
}
