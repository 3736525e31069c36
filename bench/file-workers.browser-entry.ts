/**
 * Browser side of bench/file-workers.ts (run through tools/chromium.ts): file encryption
 * in a Chromium page with this thread vs pools of Web Workers running client/crypto/file-worker.ts.
 */
import { inThreadChunkCipher, createWebWorkerChunkCipher } from '../client/crypto/file-cipher';
import { type Contender, timeFileEncryption } from './file-workers-run';

export interface FileWorkersBenchInput {
  /** URL of the bundled client/crypto/file-worker.ts (ChromiumSession.serve). */
  workerUrl: string;
  fileBytes: number;
  warmups: number;
  repeats: number;
  poolSizes: number[];
}

export interface FileWorkersBenchOutput {
  hardwareConcurrency: number;
  times: Record<string, number[]>;
}

export default async function run(input: FileWorkersBenchInput): Promise<FileWorkersBenchOutput> {
  const pools = input.poolSizes.map((size) => ({
    name: `${size} Web Worker${size > 1 ? 's' : ''}`,
    cipher: createWebWorkerChunkCipher(() => new Worker(input.workerUrl, { type: 'module' }), size),
  }));
  const contenders: Contender[] = [{ name: '1 thread', cipher: inThreadChunkCipher }, ...pools];
  try {
    const times = await timeFileEncryption(
      contenders,
      input.fileBytes,
      input.warmups,
      input.repeats,
    );
    return { hardwareConcurrency: globalThis.navigator.hardwareConcurrency, times };
  } finally {
    await Promise.all(pools.map((pool) => pool.cipher.close()));
  }
}
