/**
 * The device's key-value store on IndexedDB, sealed at rest: every value and every key name is
 * encrypted with AES-256-GCM under a non-extractable WebCrypto key that lives in the same
 * database (IndexedDB stores CryptoKey objects without exposing their bytes), so the files on
 * disk hold nothing readable and the app opens without asking for a password. Records are found
 * by an HMAC of their name under a second non-extractable key, and each ciphertext is bound to
 * its record id (the GCM additional data), so records cannot be swapped unnoticed.
 *
 * What this protects: the disk image, backups of the profile, another program reading the files.
 * What it does not: code running in this origin can use the key (it cannot export it).
 */
import { deleteDB, openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { KeyValueStore } from './ports';

import { DEFAULT_STORE_NAME } from './store-name';

export { DEFAULT_STORE_NAME };

interface SealedBox {
  readonly iv: Uint8Array<ArrayBuffer>;
  readonly data: ArrayBuffer;
}

interface DeviceKeys {
  /** AES-GCM 256, encrypt/decrypt, not extractable. */
  readonly sealKey: CryptoKey;
  /** HMAC-SHA-256, sign, not extractable: record ids from names. */
  readonly nameKey: CryptoKey;
}

interface SealedSchema extends DBSchema {
  keyring: { key: 'device'; value: DeviceKeys };
  records: { key: string; value: { readonly name: SealedBox; readonly value: SealedBox } };
}

export class SealedRecordError extends Error {
  override readonly name = 'SealedRecordError';
}

export class StoreClosedError extends Error {
  override readonly name = 'StoreClosedError';
  constructor() {
    super('The device store is closed (signed out here or in another tab). Reload to continue.');
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function hex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

function additionalData(id: string, part: 'name' | 'value'): Uint8Array<ArrayBuffer> {
  return encoder.encode(`cipherline/sealed-store/v1/${part}/${id}`);
}

async function newDeviceKeys(): Promise<DeviceKeys> {
  const [sealKey, nameKey] = await Promise.all([
    crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']),
    crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256', length: 256 }, false, ['sign']),
  ]);
  return { sealKey, nameKey };
}

export class SealedStore implements KeyValueStore {
  #db: IDBPDatabase<SealedSchema> | undefined;

  private constructor(
    db: IDBPDatabase<SealedSchema>,
    private readonly deviceKeys: DeviceKeys,
    private readonly storeName: string,
  ) {
    this.#db = db;
  }

  /** Opens (or creates) the store; its keys are made on first use and kept in the database. */
  static async open(storeName = DEFAULT_STORE_NAME): Promise<SealedStore> {
    // Ask the browser not to evict this origin's data under storage pressure: losing the keys
    // would mean restoring the account from its backup. Chromium decides by engagement or install.
    void navigator.storage?.persist?.().catch(() => false);
    // The callbacks below run after `open` returns; they reach the store through this holder.
    const opened: { store?: SealedStore } = {};
    const db = await openDB<SealedSchema>(storeName, 1, {
      upgrade(database) {
        database.createObjectStore('keyring');
        database.createObjectStore('records');
      },
      // Another tab signs out (deletes the database): let it, and refuse further use here.
      blocking() {
        opened.store?.close();
      },
      terminated() {
        opened.store?.close();
      },
    });
    // Generated before the transaction: awaiting WebCrypto inside one would let it commit early.
    const fresh = await newDeviceKeys();
    const tx = db.transaction(['keyring', 'records'], 'readwrite');
    let keys = await tx.objectStore('keyring').get('device');
    if (!keys) {
      keys = fresh;
      await tx.objectStore('keyring').add(keys, 'device');
      // Records without the key that sealed them can never be read again.
      await tx.objectStore('records').clear();
    }
    await tx.done;
    opened.store = new SealedStore(db, keys, storeName);
    return opened.store;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const db = this.#open();
    const id = await this.#idOf(key);
    const record = await db.get('records', id);
    return record ? new Uint8Array(await this.#unseal(record.value, id, 'value')) : undefined;
  }

  async set(key: string, value: Uint8Array): Promise<void> {
    const db = this.#open();
    const id = await this.#idOf(key);
    const [name, sealedValue] = await Promise.all([
      this.#seal(encoder.encode(key), id, 'name'),
      this.#seal(value, id, 'value'),
    ]);
    await db.put('records', { name, value: sealedValue }, id);
  }

  async delete(key: string): Promise<void> {
    const db = this.#open();
    await db.delete('records', await this.#idOf(key));
  }

  async keys(prefix = ''): Promise<string[]> {
    const db = this.#open();
    const tx = db.transaction('records');
    const entries: [string, SealedBox][] = [];
    for await (const cursor of tx.store) entries.push([cursor.key, cursor.value.name]);
    const names = await Promise.all(
      entries.map(async ([id, box]) => decoder.decode(await this.#unseal(box, id, 'name'))),
    );
    return names.filter((name) => name.startsWith(prefix)).sort();
  }

  async clear(): Promise<void> {
    const db = this.#open();
    // Emptied first, in one transaction, so nothing survives even if the deletion stays blocked.
    const tx = db.transaction(['keyring', 'records'], 'readwrite');
    await Promise.all([tx.objectStore('records').clear(), tx.objectStore('keyring').clear()]);
    await tx.done;
    this.close();
    await deleteDB(this.storeName);
  }

  close(): void {
    this.#db?.close();
    this.#db = undefined;
  }

  #open(): IDBPDatabase<SealedSchema> {
    if (!this.#db) throw new StoreClosedError();
    return this.#db;
  }

  async #idOf(key: string): Promise<string> {
    return hex(await crypto.subtle.sign('HMAC', this.deviceKeys.nameKey, encoder.encode(key)));
  }

  async #seal(plain: Uint8Array, id: string, part: 'name' | 'value'): Promise<SealedBox> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const data = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: additionalData(id, part) },
      this.deviceKeys.sealKey,
      new Uint8Array(plain),
    );
    return { iv, data };
  }

  async #unseal(box: SealedBox, id: string, part: 'name' | 'value'): Promise<ArrayBuffer> {
    try {
      return await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: box.iv, additionalData: additionalData(id, part) },
        this.deviceKeys.sealKey,
        box.data,
      );
    } catch {
      throw new SealedRecordError(
        'A record on this device failed its integrity check and was not read. Sign out and in again to restore it from your backup.',
      );
    }
  }
}
