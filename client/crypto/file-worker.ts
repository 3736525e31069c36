/**
 * Web Worker entry for file chunks (see createWebWorkerChunkCipher in file-cipher.ts): answers
 * one ChunkWorkerRequest per message. Worker-safe: WebCrypto and our own 3DES, no DOM.
 */
import { type ChunkWorkerRequest, answerChunkRequest } from './file-cipher';

globalThis.addEventListener('message', (event: MessageEvent<ChunkWorkerRequest>) => {
  void answerChunkRequest(event.data).then(({ response, transfer }) =>
    globalThis.postMessage(response, { transfer }),
  );
});
