/**
 * The client core with the browser's adapters, loaded on demand by the session (session.svelte.ts)
 * so that the first paint does not wait for the crypto: the sealed IndexedDB store, the
 * reconnecting WebSocket, Argon2id in a worker, file chunks in workers, fetch for blobs.
 */
import { formatRecoveryKey } from '../../../client/crypto/recovery-key';
import { CipherlineClient } from '../../../client/session/client';
import { ReconnectingSocket } from '../platform/reconnecting-socket';
import { SealedStore } from '../platform/sealed-store';
import { workerKdf } from '../platform/worker-kdf';
import { blobFileSink, webWorkerCipher } from './file-adapters';

export { formatRecoveryKey };

export interface DeviceClient {
  readonly client: CipherlineClient;
  readonly store: SealedStore;
}

/** Opens this browser's device store and the client on it (nothing is sent yet). */
export async function openDeviceClient(websocketUrl: string): Promise<DeviceClient> {
  const store = await SealedStore.open();
  try {
    const client = await CipherlineClient.open({
      url: websocketUrl,
      connect: (url) => new ReconnectingSocket({ url }),
      store,
      files: blobFileSink,
      cipher: webWorkerCipher,
      kdf: workerKdf(),
    });
    return { client, store };
  } catch (error) {
    store.close();
    throw error;
  }
}
