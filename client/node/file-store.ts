/**
 * The terminal client's KeyValueStore: one append-only journal file in the data folder, replayed
 * into memory at open. `set` and `delete` append a record and fsync before they resolve, so what
 * a call confirmed survives a crash (the seen-id store relies on it). A torn last record (a crash
 * mid-append) is dropped at the next open. When the journal holds more than twice the live data
 * it is rewritten to a temporary file, fsynced and renamed over the old one.
 *
 * Record: op u8 (1 set, 2 delete) ‖ key length u32 ‖ key (UTF-8) ‖ [value length u32 ‖ value].
 * The folder is created 0700 and the file 0600: the store holds the device's private keys,
 * protected by the operating system's file permissions (docs/client.md).
 */
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { KeyValueStore } from '../session/ports';

const OP_SET = 1;
const OP_DELETE = 2;
const COMPACT_MIN_BYTES = 1024 * 1024;

export class StoreClosedError extends Error {
  override readonly name = 'StoreClosedError';
  constructor() {
    super('The device store is closed.');
  }
}

export class FileKeyValueStore implements KeyValueStore {
  readonly #records = new Map<string, Uint8Array>();
  readonly #path: string;
  #file: FileHandle | undefined;
  #fileBytes = 0;
  #liveBytes = 0;
  /** Writes run one after another, in call order. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(path: string) {
    this.#path = path;
  }

  /** Opens (or creates) `<folder>/<name>`. */
  static async open(folder: string, name = 'device.journal'): Promise<FileKeyValueStore> {
    await mkdir(folder, { recursive: true, mode: 0o700 });
    const store = new FileKeyValueStore(join(folder, name));
    await store.#load();
    return store;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    this.#checkOpen();
    const value = this.#records.get(key);
    return value && value.slice();
  }

  set(key: string, value: Uint8Array): Promise<void> {
    const copy = value.slice();
    return this.#write(() => {
      this.#forget(key);
      this.#records.set(key, copy);
      this.#liveBytes += recordLength(key, copy);
      return encodeRecord(OP_SET, key, copy);
    });
  }

  delete(key: string): Promise<void> {
    return this.#write(() => {
      if (!this.#records.has(key)) return undefined;
      this.#forget(key);
      return encodeRecord(OP_DELETE, key);
    });
  }

  async keys(prefix = ''): Promise<string[]> {
    this.#checkOpen();
    return [...this.#records.keys()].filter((key) => key.startsWith(prefix)).sort();
  }

  async clear(): Promise<void> {
    await this.#queue.catch(() => undefined);
    const file = this.#file;
    this.#file = undefined;
    this.#records.clear();
    await file?.close();
    await rm(this.#path, { force: true });
  }

  close(): void {
    const file = this.#file;
    this.#file = undefined;
    void this.#queue.finally(() => file?.close());
  }

  /** Waits for every write so far (for a clean exit). */
  async flush(): Promise<void> {
    await this.#queue.catch(() => undefined);
  }

  #checkOpen(): void {
    if (!this.#file) throw new StoreClosedError();
  }

  #forget(key: string): void {
    const old = this.#records.get(key);
    if (old === undefined) return;
    this.#records.delete(key);
    this.#liveBytes -= recordLength(key, old);
  }

  /** `change` updates memory and returns the record to append (or nothing); runs in queue order. */
  #write(change: () => Uint8Array | undefined): Promise<void> {
    const run = async () => {
      const file = this.#file;
      if (!file) throw new StoreClosedError();
      const record = change();
      if (!record) return;
      await file.write(record, 0, record.length, this.#fileBytes);
      await file.datasync();
      this.#fileBytes += record.length;
      if (this.#fileBytes > COMPACT_MIN_BYTES && this.#fileBytes > 2 * this.#liveBytes)
        await this.#compact();
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #load(): Promise<void> {
    const file = await open(this.#path, 'a+', 0o600);
    const { size } = await file.stat();
    const bytes = new Uint8Array(size);
    if (size > 0) await file.read(bytes, 0, size, 0);
    const valid = this.#replay(bytes);
    if (valid < size) await file.truncate(valid); // a torn last record
    this.#fileBytes = valid;
    await file.close();
    // 'a+' appends at the end whatever the position; positioned writes need 'r+'.
    this.#file = await open(this.#path, 'r+');
  }

  /** Applies every whole record; returns where the valid part of the journal ends. */
  #replay(bytes: Uint8Array): number {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const decoder = new TextDecoder();
    let offset = 0;
    while (offset < bytes.length) {
      const op = bytes[offset]!;
      if ((op !== OP_SET && op !== OP_DELETE) || offset + 5 > bytes.length) break;
      const keyLength = view.getUint32(offset + 1);
      let end = offset + 5 + keyLength;
      if (end > bytes.length) break;
      const key = decoder.decode(bytes.subarray(offset + 5, end));
      if (op === OP_SET) {
        if (end + 4 > bytes.length) break;
        const valueLength = view.getUint32(end);
        if (end + 4 + valueLength > bytes.length) break;
        const value = bytes.slice(end + 4, end + 4 + valueLength);
        end += 4 + valueLength;
        this.#forget(key);
        this.#records.set(key, value);
        this.#liveBytes += recordLength(key, value);
      } else {
        this.#forget(key);
      }
      offset = end;
    }
    return offset;
  }

  async #compact(): Promise<void> {
    const temporary = `${this.#path}.compact`;
    const out = await open(temporary, 'w', 0o600);
    let position = 0;
    for (const [key, value] of this.#records) {
      const record = encodeRecord(OP_SET, key, value);
      await out.write(record, 0, record.length, position);
      position += record.length;
    }
    await out.datasync();
    await out.close();
    await rename(temporary, this.#path);
    const folder = await open(dirname(this.#path), 'r');
    await folder.sync().finally(() => folder.close()); // the rename itself is durable too
    await this.#file?.close();
    this.#file = await open(this.#path, 'r+');
    this.#fileBytes = position;
  }
}

const encoder = new TextEncoder();

function recordLength(key: string, value: Uint8Array): number {
  return 9 + encoder.encode(key).length + value.length;
}

function encodeRecord(op: number, key: string, value?: Uint8Array): Uint8Array {
  const keyBytes = encoder.encode(key);
  const out = new Uint8Array(5 + keyBytes.length + (value ? 4 + value.length : 0));
  const view = new DataView(out.buffer);
  out[0] = op;
  view.setUint32(1, keyBytes.length);
  out.set(keyBytes, 5);
  if (value) {
    view.setUint32(5 + keyBytes.length, value.length);
    out.set(value, 9 + keyBytes.length);
  }
  return out;
}
