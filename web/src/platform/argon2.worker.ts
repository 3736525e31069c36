/**
 * Web Worker entry for Argon2id (see worker-kdf.ts): one derivation per message, so the page
 * keeps painting during the second or so that signing in spends on it. hash-wasm's WebAssembly
 * runs here; the worker is ended after each answer, which frees its 64 MiB.
 */
import { argon2idInThread } from '../../../client/crypto/account';
import type { KdfRequest, KdfResponse } from './worker-kdf';

globalThis.addEventListener('message', (event: MessageEvent<KdfRequest>) => {
  const { password, salt, cost } = event.data;
  void argon2idInThread({ password, salt, cost }).then(
    (root) =>
      globalThis.postMessage({ ok: true, root } satisfies KdfResponse, {
        transfer: [root.buffer],
      }),
    (error: unknown) =>
      globalThis.postMessage({
        ok: false,
        message: error instanceof Error ? error.message : String(error),
      } satisfies KdfResponse),
  );
});
