/**
 * The seen-id store on the device's KeyValueStore (client/crypto/seen-store.ts has the contract):
 * one record per id, `seen/<key>` → the message's own timestamp (u64), written durably before
 * `add` resolves, so an envelope replayed after a restart is still refused. Ids live as long as
 * a replay could be accepted: `prune(now - retention)` (the session calls it at start and daily)
 * forgets older ones, because envelopes older than the retention are refused as TOO_OLD anyway.
 * The ids are indexed in memory at open (a few thousand per month of use).
 */
import type { SeenStore } from '../crypto/seen-store';
import type { KeyValueStore } from './ports';

const PREFIX = 'seen/';

function encodeTimestamp(timestamp: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(Math.max(0, Math.floor(timestamp))));
  return out;
}

function decodeTimestamp(bytes: Uint8Array): number {
  if (bytes.length !== 8) return 0; // unreadable: pruned at the next prune
  return Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0));
}

export class PersistentSeenStore implements SeenStore {
  readonly #store: KeyValueStore;
  readonly #index: Map<string, number>;

  private constructor(store: KeyValueStore, index: Map<string, number>) {
    this.#store = store;
    this.#index = index;
  }

  static async open(store: KeyValueStore): Promise<PersistentSeenStore> {
    const index = new Map<string, number>();
    for (const key of await store.keys(PREFIX)) {
      const value = await store.get(key);
      if (value) index.set(key.slice(PREFIX.length), decodeTimestamp(value));
    }
    return new PersistentSeenStore(store, index);
  }

  async has(id: string): Promise<boolean> {
    return this.#index.has(id);
  }

  async add(id: string, timestamp: number): Promise<void> {
    // Keep the newest timestamp, so pruning never forgets an id a newer copy still protects.
    const kept = Math.max(this.#index.get(id) ?? 0, timestamp);
    await this.#store.set(PREFIX + id, encodeTimestamp(kept));
    this.#index.set(id, kept);
  }

  async prune(olderThan: number): Promise<void> {
    for (const [id, timestamp] of [...this.#index]) {
      if (timestamp >= olderThan) continue;
      await this.#store.delete(PREFIX + id);
      this.#index.delete(id);
    }
  }

  get size(): number {
    return this.#index.size;
  }
}
