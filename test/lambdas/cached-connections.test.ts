/**
 * The connection cache of a Lambda container: bound connections are served from memory, and the
 * unbound-connection check reads past it, so a connection another container unbound (signout)
 * is closed even where it was cached as bound.
 */
import { describe, expect, it } from 'vitest';
import { closeIfUnbound } from '../../lambdas/background/reap-unbound';
import type { ServerDeps } from '../../lambdas/runtime/deps';
import { CachedConnectionStore } from '../../lambdas/stores/connections';
import type { Connection, ConnectionStore } from '../../lambdas/stores/connections';

/** The table as every container sees it, counting reads. */
class SharedRows implements ConnectionStore {
  readonly rows = new Map<string, Connection>();
  reads = 0;
  async bind(connection: Connection) {
    this.rows.set(connection.connectionId, connection);
  }
  async get(connectionId: string) {
    this.reads++;
    return this.rows.get(connectionId);
  }
  getFresh(connectionId: string) {
    return this.get(connectionId);
  }
  async remove(connectionId: string) {
    this.rows.delete(connectionId);
  }
}

const NOW = 1_800_000_000_000;
const connection: Connection = {
  connectionId: 'c1',
  userId: 'alice',
  deviceId: 'd1',
  connectedAt: NOW,
  expiresAt: NOW + 60_000,
};

describe('CachedConnectionStore', () => {
  it('serves a bound connection from memory after the first read', async () => {
    const table = new SharedRows();
    await table.bind(connection);
    const container = new CachedConnectionStore(table);
    expect(await container.get('c1', NOW)).toEqual(connection);
    expect(await container.get('c1', NOW)).toEqual(connection);
    expect(table.reads).toBe(1);
  });

  it('lets the unbound check close a connection another container unbound, cached or not', async () => {
    const table = new SharedRows();
    await table.bind(connection);
    const checker = new CachedConnectionStore(table);
    const signout = new CachedConnectionStore(table);
    // The checker saw it bound (e.g. its grace-period check ran after the bind)...
    expect(await checker.get('c1', NOW)).toEqual(connection);
    // ...then signout, in another container, unbinds it.
    await signout.remove('c1');
    expect(await checker.get('c1', NOW)).toEqual(connection); // the cache alone would keep it
    const closed: string[] = [];
    const deps = { connections: checker, now: () => NOW } as unknown as ServerDeps;
    expect(await closeIfUnbound(deps, 'c1', async (id) => void closed.push(id))).toBe(true);
    expect(closed).toEqual(['c1']);
    // The fresh read also drops the stale entry.
    const reads = table.reads;
    expect(await checker.get('c1', NOW)).toBeUndefined();
    expect(table.reads).toBe(reads + 1);
  });
});
