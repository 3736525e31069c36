/**
 * The client session's password-hash port (ClientOptions.kdf) on a Web Worker: Argon2id at
 * 64 MiB takes about a second, which on the main thread would freeze the page (no painting, no
 * input) while signing in. A fresh worker per derivation: sign-in is rare, and ending the worker
 * returns its 64 MiB at once.
 */
import type { Argon2idHasher } from '../../../client/crypto/account';
import type { Argon2Cost } from '../../../client/crypto/kdf-settings';

export interface KdfRequest {
  readonly password: Uint8Array;
  readonly salt: Uint8Array;
  readonly cost: Argon2Cost;
}

export type KdfResponse =
  | { readonly ok: true; readonly root: Uint8Array }
  | { readonly ok: false; readonly message: string };

export class KdfWorkerError extends Error {
  override readonly name = 'KdfWorkerError';
}

export function workerKdf(
  startWorker: () => Worker = () =>
    new Worker(new URL('./argon2.worker.ts', import.meta.url), { type: 'module' }),
): Argon2idHasher {
  return ({ password, salt, cost }) =>
    new Promise<Uint8Array>((resolve, reject) => {
      const worker = startWorker();
      const finish = (outcome: () => void) => {
        worker.terminate();
        outcome();
      };
      worker.onmessage = (event: MessageEvent<KdfResponse>) => {
        const answer = event.data;
        finish(() =>
          answer.ok
            ? resolve(answer.root)
            : reject(new KdfWorkerError(`The password could not be hashed: ${answer.message}`)),
        );
      };
      worker.onerror = (event) => {
        event.preventDefault();
        finish(() =>
          reject(
            new KdfWorkerError(
              'The password could not be hashed: its worker did not start. Reload the page.',
            ),
          ),
        );
      };
      // A copy, not a transfer: the caller's bytes stay usable (and are the caller's to wipe).
      worker.postMessage({ password, salt, cost } satisfies KdfRequest);
    });
}
