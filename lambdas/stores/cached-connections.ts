/**
 * A bound connection's user and device never change and a connection id is never reused, so a
 * Lambda container keeps what it read in memory: after its first frame, a connection costs no
 * read. Only bound connections are cached (an unbound one may bind any moment); signing out and
 * caps close the connection, so no frame arrives on a stale entry for long. The check that does
 * that closing reads past the cache (getFresh).
 */
import type { Connection, ConnectionStore } from './ports';

/** Entries per container; the oldest go first past it (a Map keeps insertion order). */
export const CONNECTION_CACHE_SIZE = 10_000;

export class CachedConnectionStore implements ConnectionStore {
  private readonly bound = new Map<string, Connection>();

  constructor(private readonly store: ConnectionStore) {}

  bind(connection: Connection): Promise<void> {
    return this.store.bind(connection);
  }

  async get(connectionId: string, now: number): Promise<Connection | undefined> {
    const cached = this.bound.get(connectionId);
    if (cached && cached.expiresAt > now) return cached;
    const connection = await this.store.get(connectionId, now);
    if (connection) {
      if (this.bound.size >= CONNECTION_CACHE_SIZE)
        this.bound.delete(this.bound.keys().next().value!);
      this.bound.set(connectionId, connection);
    } else this.bound.delete(connectionId);
    return connection;
  }

  async getFresh(connectionId: string, now: number): Promise<Connection | undefined> {
    const connection = await this.store.getFresh(connectionId, now);
    if (!connection) this.bound.delete(connectionId);
    return connection;
  }

  async remove(connectionId: string): Promise<void> {
    this.bound.delete(connectionId);
    await this.store.remove(connectionId);
  }
}
