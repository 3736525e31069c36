/**
 * The seen-id store: the client's memory of which messages it has already opened, so a replayed
 * envelope is refused with REPLAY. An id is only worth keeping while a replay of it could still be
 * accepted: envelopes older than the inbox retention are refused with TOO_OLD anyway, so
 * `prune(now - INBOX_RETENTION_MS)` may forget everything recorded with an older timestamp.
 *
 * Persistent implementations (IndexedDB in the PWA, a file in the terminal client) implement the
 * same interface: `add` must be durable before it resolves, otherwise a crash between opening a
 * message and persisting its id lets the same envelope be accepted twice after a restart.
 */
export interface SeenStore {
  /** Whether `id` was recorded (and not yet pruned). */
  has(id: string): Promise<boolean>;
  /** Record `id` with the message's own (authenticated) timestamp, in epoch milliseconds. */
  add(id: string, timestamp: number): Promise<void>;
  /** Forget every id recorded with a timestamp strictly older than `olderThan`. */
  prune?(olderThan: number): Promise<void>;
}

/**
 * The store key of one message. Message ids are chosen by senders, so they are scoped by the
 * sender: nobody can "use up" another sender's message id. The sender id's length comes first
 * so that no two (sender, message id) pairs give the same key.
 */
export function seenKey(senderId: string, messageId: string): string {
  return `${senderId.length}:${senderId}:${messageId}`;
}

/** In-memory store for tests and short-lived processes; forgets everything on restart. */
export class MemorySeenStore implements SeenStore {
  readonly #seen = new Map<string, number>();

  async has(id: string): Promise<boolean> {
    return this.#seen.has(id);
  }

  async add(id: string, timestamp: number): Promise<void> {
    // Keep the newest timestamp, so pruning never forgets an id a newer copy still protects.
    const previous = this.#seen.get(id);
    this.#seen.set(id, previous === undefined ? timestamp : Math.max(previous, timestamp));
  }

  async prune(olderThan: number): Promise<void> {
    for (const [id, timestamp] of this.#seen) if (timestamp < olderThan) this.#seen.delete(id);
  }

  get size(): number {
    return this.#seen.size;
  }
}
