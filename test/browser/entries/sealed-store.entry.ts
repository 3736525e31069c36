/** Drives the PWA's sealed IndexedDB store in the page; state lives in this module between calls. */
import {
  SealedRecordError,
  SealedStore,
  StoreClosedError,
} from '../../../web/src/platform/sealed-store';

type Op =
  | { op: 'open'; name: string }
  | { op: 'set'; key: string; value: string }
  | { op: 'get'; key: string }
  | { op: 'delete'; key: string }
  | { op: 'keys'; prefix?: string }
  | { op: 'clear' }
  | { op: 'close' }
  /** Everything IndexedDB holds for `name`, read without the store: what sits on disk. */
  | { op: 'raw'; name: string }
  /** Flips one byte of every stored value's ciphertext. */
  | { op: 'tamper'; name: string }
  | { op: 'databases' };

let store: SealedStore | undefined;
const text = new TextEncoder();
const untext = new TextDecoder();

function describe(error: unknown): string {
  if (error instanceof SealedRecordError || error instanceof StoreClosedError)
    return `${error.name}: ${error.message}`;
  throw error;
}

function rawOpen(name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(name);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function all(
  db: IDBDatabase,
  storeName: string,
): Promise<{ keys: IDBValidKey[]; values: unknown[] }> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(storeName);
    const keys = tx.objectStore(storeName).getAllKeys();
    const values = tx.objectStore(storeName).getAll();
    tx.oncomplete = () => resolve({ keys: keys.result, values: values.result });
    tx.onerror = () => reject(tx.error);
  });
}

/** Every byte string reachable in a stored value, as latin1 text, for searching. */
function bytesOf(value: unknown): string[] {
  if (value instanceof ArrayBuffer) return [String.fromCharCode(...new Uint8Array(value))];
  if (ArrayBuffer.isView(value))
    return [
      String.fromCharCode(...new Uint8Array(value.buffer, value.byteOffset, value.byteLength)),
    ];
  if (value && typeof value === 'object') return Object.values(value).flatMap(bytesOf);
  return [String(value)];
}

export default async function run(input: Op): Promise<unknown> {
  switch (input.op) {
    case 'open':
      store = await SealedStore.open(input.name);
      return true;
    case 'set':
      try {
        await store!.set(input.key, text.encode(input.value));
        return true;
      } catch (error) {
        return describe(error);
      }
    case 'get':
      try {
        const value = await store!.get(input.key);
        return value === undefined ? null : untext.decode(value);
      } catch (error) {
        return describe(error);
      }
    case 'delete':
      await store!.delete(input.key);
      return true;
    case 'keys':
      return store!.keys(input.prefix);
    case 'clear':
      await store!.clear();
      return true;
    case 'close':
      store?.close();
      return true;
    case 'raw': {
      const db = await rawOpen(input.name);
      try {
        const records = await all(db, 'records');
        const keyring = await all(db, 'keyring');
        const keys = keyring.values as { sealKey: CryptoKey; nameKey: CryptoKey }[];
        const exportable = await Promise.all(
          keys
            .flatMap((k) => [k.sealKey, k.nameKey])
            .map((key) =>
              crypto.subtle.exportKey('raw', key).then(
                () => true,
                () => false,
              ),
            ),
        );
        return {
          recordIds: records.keys.map(String),
          recordBytes: records.values.flatMap(bytesOf).concat(records.keys.map(String)),
          keys: keys
            .flatMap((k) => [k.sealKey, k.nameKey])
            .map((key) => ({
              algorithm: key.algorithm.name,
              extractable: key.extractable,
              usages: key.usages,
            })),
          exportable,
        };
      } finally {
        db.close();
      }
    }
    case 'tamper': {
      const db = await rawOpen(input.name);
      try {
        const { keys, values } = await all(db, 'records');
        const tx = db.transaction('records', 'readwrite');
        keys.forEach((key, i) => {
          const record = values[i] as {
            name: unknown;
            value: { iv: Uint8Array; data: ArrayBuffer };
          };
          const data = new Uint8Array(record.value.data.slice(0));
          data[0]! ^= 1;
          tx.objectStore('records').put(
            { ...record, value: { ...record.value, data: data.buffer } },
            key,
          );
        });
        await new Promise((resolve) => (tx.oncomplete = resolve));
        return keys.length;
      } finally {
        db.close();
      }
    }
    case 'databases':
      return (await indexedDB.databases()).map((db) => db.name);
  }
}
