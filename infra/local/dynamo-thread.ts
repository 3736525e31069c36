/**
 * Starts dynalite (persisted in `path`) in a worker thread and resolves with its port; `close`
 * stops the server (closing LevelDB) and the thread.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

export interface DynamoThread {
  readonly port: number;
  close(): Promise<void>;
}

type FromWorker =
  { port: number } | { closed: true } | { error: { code?: string; port: number; message: string } };

export async function startDynamoThread(options: {
  path: string;
  host: string;
  port: number;
}): Promise<DynamoThread> {
  const worker = new Worker(new URL('./dynamo-worker.mjs', import.meta.url), {
    workerData: options,
  });
  const [first] = (await Promise.race([
    once(worker, 'message'),
    once(worker, 'error').then(([error]) => Promise.reject(error as Error)),
  ])) as [FromWorker];
  if ('error' in first) {
    await worker.terminate();
    throw Object.assign(new Error(first.error.message), {
      code: first.error.code,
      port: first.error.port,
    });
  }
  if (!('port' in first)) throw new Error('dynalite thread did not start');
  return {
    port: first.port,
    close: async () => {
      worker.postMessage('close');
      await once(worker, 'message');
      await worker.terminate();
    },
  };
}
