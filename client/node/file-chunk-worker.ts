/**
 * worker_threads entry for file chunks (see createNodeWorkerChunkCipher): the same job as the
 * Web Worker entry, client/crypto/file-worker.ts, on Node's message port.
 */
import { parentPort } from 'node:worker_threads';
import { type ChunkWorkerRequest, answerChunkRequest } from '../crypto/file-cipher';

const port = parentPort;
if (!port) throw new Error('file-chunk-worker runs only as a worker thread');

// Answers are copied, not transferred: see nodeWorkerPort in file-worker-pool.ts.
port.on('message', (request: ChunkWorkerRequest) => {
  void answerChunkRequest(request).then(({ response }) => port.postMessage(response));
});
