/**
 * One active tab per device, with Web Locks: the active tab holds an exclusive lock for as long
 * as it lives. A tab that finds it held says so and queues for it, so it becomes active by itself
 * when the active tab closes; `takeOver()` steals the lock, and the tab it was stolen from turns
 * into a standby (queued again, so closing the new active tab hands the role back).
 */
import type { ActiveTabGuard, TabRole } from './ports';

export const ACTIVE_TAB_LOCK = 'cipherline-active-client';

export class WebLocksTabGuard implements ActiveTabGuard {
  #role: TabRole = { role: 'starting' };
  readonly #listeners = new Set<(role: TabRole) => void>();
  /** Resolving it ends the callback that holds the lock, i.e. releases it. */
  #releaseHeld: (() => void) | undefined;
  /** Aborts this tab's queued (not yet granted) request. */
  #queue: AbortController | undefined;
  readonly #lockName: string;

  constructor(lockName = ACTIVE_TAB_LOCK) {
    this.#lockName = lockName;
  }

  get current(): TabRole {
    return this.#role;
  }

  /** Claims the role if no tab holds it, else becomes a standby; resolves once it knows which. */
  async start(): Promise<TabRole> {
    const granted = await new Promise<boolean>((decided) => {
      void navigator.locks
        .request(this.#lockName, { ifAvailable: true }, (lock) => {
          decided(lock !== null);
          return lock ? this.#hold() : undefined;
        })
        .catch((error: unknown) => this.#lockEnded(error));
    });
    if (!granted) this.#standBy('open-elsewhere');
    return this.#role;
  }

  subscribe(listener: (role: TabRole) => void): () => void {
    this.#listeners.add(listener);
    listener(this.#role);
    return () => this.#listeners.delete(listener);
  }

  async takeOver(): Promise<void> {
    if (this.#role.role === 'active' || this.#role.role === 'released') return;
    this.#queue?.abort();
    this.#queue = undefined;
    await new Promise<void>((granted) => {
      void navigator.locks
        .request(this.#lockName, { steal: true }, () => {
          granted();
          return this.#hold();
        })
        .catch((error: unknown) => this.#lockEnded(error));
    });
  }

  release(): void {
    this.#queue?.abort();
    this.#queue = undefined;
    this.#releaseHeld?.();
    this.#releaseHeld = undefined;
    this.#setRole({ role: 'released' });
  }

  /** Runs inside the lock callback: holds the lock until released (or stolen). */
  #hold(): Promise<void> {
    this.#setRole({ role: 'active' });
    return new Promise<void>((release) => (this.#releaseHeld = release));
  }

  /** A held lock was stolen (its request rejects with AbortError), or a queued one aborted. */
  #lockEnded(error: unknown): void {
    if ((error as { name?: string }).name !== 'AbortError') throw error;
    if (this.#role.role === 'active') {
      this.#releaseHeld = undefined;
      this.#standBy('taken-over');
    }
  }

  #standBy(because: 'open-elsewhere' | 'taken-over'): void {
    this.#setRole({ role: 'standby', because });
    const queue = new AbortController();
    this.#queue = queue;
    void navigator.locks
      .request(this.#lockName, { signal: queue.signal }, () => {
        if (this.#queue === queue) this.#queue = undefined;
        return this.#hold();
      })
      .catch((error: unknown) => this.#lockEnded(error));
  }

  #setRole(role: TabRole): void {
    if (this.#role.role === 'released') return;
    this.#role = role;
    for (const listener of [...this.#listeners]) listener(role);
  }
}
