/**
 * The terminal client's entry point, from source (`npm run client`) and as the one-file build
 * (`npm run build:cli`). In the build, the file-chunk workers run this same file: a worker
 * thread started with CHUNK_WORKER_ROLE becomes a chunk worker instead of a client.
 */
import { isMainThread, workerData } from 'node:worker_threads';
import { CHUNK_WORKER_ROLE } from '../client/node/file-worker-pool';

if (!isMainThread && (workerData as { role?: unknown } | null)?.role === CHUNK_WORKER_ROLE) {
  await import('../client/node/file-chunk-worker');
} else {
  const { runCli } = await import('./main');
  await runCli();
}
