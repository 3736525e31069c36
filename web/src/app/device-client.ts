/**
 * The client core with the browser's adapters, loaded on demand by the session (session.svelte.ts)
 * so that the first paint does not wait for the crypto: the sealed IndexedDB store, the
 * reconnecting WebSocket, Argon2id in a worker, file chunks in workers, fetch for blobs.
 */
import { formatRecoveryKey } from '../../../client/crypto/recovery-key';
import { CipherlineClient } from '../../../client/session/client';
import { browserBlobHttp } from '../platform/blob-http';
import { createBrowserChunkCipher } from '../platform/chunk-cipher';
import { openReceivedFiles, type ReceivedFiles } from '../platform/received-files';
import { ReconnectingSocket } from '../platform/reconnecting-socket';
import { SealedStore } from '../platform/sealed-store';
import { workerKdf } from '../platform/worker-kdf';

export { formatRecoveryKey };

export interface DeviceClient {
  readonly client: CipherlineClient;
  readonly store: SealedStore;
  /** Received files (OPFS, or memory where it is missing); cleared at sign-out with the store. */
  readonly files: ReceivedFiles;
}

/** Opens this browser's device store and the client on it (nothing is sent yet). */
export async function openDeviceClient(websocketUrl: string): Promise<DeviceClient> {
  const store = await SealedStore.open();
  try {
    const files = await openReceivedFiles();
    const client = await CipherlineClient.open({
      url: websocketUrl,
      connect: (url) => new ReconnectingSocket({ url }),
      store,
      files,
      cipher: () => createBrowserChunkCipher(),
      // Blob bodies: Chromium uploads a Uint8Array body many times slower (docs/web.md).
      http: browserBlobHttp,
      kdf: workerKdf(),
    });
    return { client, store, files };
  } catch (error) {
    store.close();
    throw error;
  }
}
