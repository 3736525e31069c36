/**
 * The file ports of the client session for the browser, until pwa-media's streamed OPFS sink and
 * worker pool land (web/src/platform/): chunk encryption in a pool of Web Workers, and received
 * files gathered into a Blob shown by an object URL (fine for pictures and short videos; the
 * OPFS sink replaces it for big files).
 */
import { createWebWorkerChunkCipher } from '../../../client/crypto/file-cipher';
import type { ChunkCipherFactory, FileSink, FileWriter } from '../../../client/session/ports';

export const webWorkerCipher: ChunkCipherFactory = () =>
  createWebWorkerChunkCipher(
    () =>
      new Worker(new URL('../../../client/crypto/file-worker.ts', import.meta.url), {
        type: 'module',
      }),
    Math.max(1, Math.min(4, (navigator.hardwareConcurrency || 2) - 1)),
  );

export const blobFileSink: FileSink = {
  async create(file): Promise<FileWriter> {
    let parts: Uint8Array<ArrayBuffer>[] = [];
    return {
      async write(bytes) {
        parts.push(new Uint8Array(bytes));
      },
      async commit() {
        const url = URL.createObjectURL(new Blob(parts, { type: file.mimeType }));
        parts = [];
        return url;
      },
      async abort() {
        parts = [];
      },
    };
  },
};
