/**
 * Who encrypts a file chunk: this thread, or a pool of workers. Chunks are independent (each has
 * its own keys, IV and MAC), so a pool can work on several at once; the file streams keep the
 * output in order. The pool speaks to its workers through a small port interface, so the same
 * pool serves Web Workers (below) and Node's worker_threads (client/node/).
 */
import { CryptoError, type CryptoErrorCode } from '../../protocol/crypto-error';
import {
  type ChunkDecryptJob,
  type ChunkEncryptJob,
  type DecryptedChunk,
  decryptChunk,
  encryptChunk,
} from './file-format';
import { type Bytes } from '../../protocol/bytes';

export type { ChunkDecryptJob, ChunkEncryptJob, DecryptedChunk } from './file-format';
import { missingCase } from '../../protocol/missing-case';

/**
 * Encrypts or decrypts one chunk of a file. A cipher may take ownership of the job's `plaintext`
 * or `chunk` buffer (a worker pool transfers it), so callers hand over buffers they no longer need.
 */
export interface ChunkCipher {
  /** How many chunks it works on at once: the streams' default concurrency. */
  readonly parallelism: number;
  encryptChunk(job: ChunkEncryptJob): Promise<Bytes>;
  decryptChunk(job: ChunkDecryptJob): Promise<DecryptedChunk>;
  /** Stops its workers, if any. */
  close(): Promise<void>;
}

export const inThreadChunkCipher: ChunkCipher = {
  parallelism: 1,
  encryptChunk,
  decryptChunk,
  close: async () => {},
};

// ---------------------------------------------------------------------------------------------
// The messages between a pool and its workers.

export type ChunkWorkerRequest =
  | { id: number; op: 'encrypt'; job: ChunkEncryptJob }
  | { id: number; op: 'decrypt'; job: ChunkDecryptJob };

export type ChunkWorkerResponse =
  | { id: number; ok: true; bytes: Bytes; last: boolean }
  | { id: number; ok: false; code: CryptoErrorCode | null; message: string };

/** The whole of a worker's job (Web Worker or worker_threads); it never rejects. */
export async function answerChunkRequest(
  request: ChunkWorkerRequest,
): Promise<{ response: ChunkWorkerResponse; transfer: ArrayBuffer[] }> {
  const { id } = request;
  try {
    switch (request.op) {
      case 'encrypt': {
        const bytes = await encryptChunk(request.job);
        return {
          response: { id, ok: true, bytes, last: request.job.last },
          transfer: [bytes.buffer],
        };
      }
      case 'decrypt': {
        const { plaintext, last } = await decryptChunk(request.job);
        return { response: { id, ok: true, bytes: plaintext, last }, transfer: [plaintext.buffer] };
      }
      default: {
        return missingCase(
          request,
          new CryptoError('BAD_INPUT', `unknown chunk request ${JSON.stringify(request)}`),
        );
      }
    }
  } catch (error) {
    const code = error instanceof CryptoError ? error.code : null;
    const message = error instanceof Error ? error.message : String(error);
    return { response: { id, ok: false, code, message }, transfer: [] };
  }
}

/** A buffer that can be transferred without detaching anything the caller still sees. */
function ownedBuffer(bytes: Uint8Array): Bytes {
  const whole =
    bytes.buffer instanceof ArrayBuffer &&
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength;
  return whole ? (bytes as Bytes) : bytes.slice();
}

// ---------------------------------------------------------------------------------------------
// The pool.

/** One worker, as the pool sees it. */
export interface ChunkWorkerPort {
  post(request: ChunkWorkerRequest, transfer: ArrayBuffer[]): void;
  /** Called once by the pool: responses, and a fatal failure of the worker. */
  listen(
    onResponse: (response: ChunkWorkerResponse) => void,
    onFailure: (error: Error) => void,
  ): void;
  /** Busy (true) or idle (false): lets a Node worker stop holding the process open when idle. */
  setBusy?(busy: boolean): void;
  terminate(): Promise<unknown> | void;
}

interface PendingJob {
  request: ChunkWorkerRequest;
  transfer: ArrayBuffer[];
  resolve: (response: ChunkWorkerResponse & { ok: true }) => void;
  reject: (error: Error) => void;
}

/** Hands each job to an idle worker (one job per worker at a time) and queues the rest. */
export class ChunkWorkerPool implements ChunkCipher {
  readonly parallelism: number;
  private readonly idle: ChunkWorkerPort[];
  private readonly queue: PendingJob[] = [];
  private readonly running = new Map<number, { job: PendingJob; port: ChunkWorkerPort }>();
  private nextId = 1;
  private failure: Error | null = null;

  constructor(private readonly ports: readonly ChunkWorkerPort[]) {
    if (ports.length === 0) throw new CryptoError('BAD_INPUT', 'a worker pool needs a worker');
    this.parallelism = ports.length;
    this.idle = [...ports];
    for (const port of ports) {
      port.listen(
        (response) => this.settle(response),
        (error) => this.fail(error),
      );
    }
  }

  async encryptChunk(job: ChunkEncryptJob): Promise<Bytes> {
    const plaintext = ownedBuffer(job.plaintext);
    const response = await this.run({ id: 0, op: 'encrypt', job: { ...job, plaintext } }, [
      plaintext.buffer,
    ]);
    return response.bytes;
  }

  async decryptChunk(job: ChunkDecryptJob): Promise<DecryptedChunk> {
    const chunk = ownedBuffer(job.chunk);
    const response = await this.run({ id: 0, op: 'decrypt', job: { ...job, chunk } }, [
      chunk.buffer,
    ]);
    return { plaintext: response.bytes, last: response.last };
  }

  async close(): Promise<void> {
    this.fail(new CryptoError('BAD_INPUT', 'the chunk worker pool is closed'));
    await Promise.all(this.ports.map((port) => port.terminate()));
  }

  private run(
    request: ChunkWorkerRequest,
    transfer: ArrayBuffer[],
  ): Promise<ChunkWorkerResponse & { ok: true }> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ request: { ...request, id: this.nextId++ }, transfer, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const port = this.idle.pop()!;
      const job = this.queue.shift()!;
      this.running.set(job.request.id, { job, port });
      port.setBusy?.(true);
      port.post(job.request, job.transfer);
    }
  }

  private settle(response: ChunkWorkerResponse): void {
    const entry = this.running.get(response.id);
    if (!entry) return;
    this.running.delete(response.id);
    this.idle.push(entry.port);
    if (this.queue.length === 0) entry.port.setBusy?.(false);
    this.dispatch();
    if (response.ok) entry.job.resolve(response);
    else
      entry.job.reject(
        response.code
          ? new CryptoError(response.code, response.message)
          : new Error(response.message),
      );
  }

  /** A crashed worker (or close) fails every job, queued or running: the pool is not reused. */
  private fail(error: Error): void {
    this.failure ??= error;
    const jobs = [...this.queue, ...[...this.running.values()].map((entry) => entry.job)];
    this.queue.length = 0;
    this.running.clear();
    for (const port of this.ports) port.setBusy?.(false);
    for (const job of jobs) job.reject(error);
  }
}

// ---------------------------------------------------------------------------------------------
// Web Workers.

/** A Web Worker running client/crypto/file-worker.ts, as a pool port. */
export function webWorkerPort(worker: Worker): ChunkWorkerPort {
  return {
    post: (request, transfer) => worker.postMessage(request, transfer),
    listen: (onResponse, onFailure) => {
      worker.addEventListener('message', (event: MessageEvent<ChunkWorkerResponse>) =>
        onResponse(event.data),
      );
      worker.addEventListener('error', (event) =>
        onFailure(new Error(`chunk worker failed: ${event.message}`)),
      );
    },
    terminate: () => worker.terminate(),
  };
}

/**
 * A pool of `size` Web Workers. `createWorker` starts one worker on file-worker.ts; with Vite:
 * `() => new Worker(new URL('./file-worker.ts', import.meta.url), { type: 'module' })`.
 */
export function createWebWorkerChunkCipher(
  createWorker: () => Worker,
  size: number,
): ChunkWorkerPool {
  if (!Number.isInteger(size) || size < 1)
    throw new CryptoError('BAD_INPUT', 'pool size must be ≥ 1');
  return new ChunkWorkerPool(Array.from({ length: size }, () => webWorkerPort(createWorker())));
}
