/** The one-active-tab guard as reactive state for the frame. */
import type { ActiveTabGuard, TabRole } from '../platform/ports';
import { WebLocksTabGuard } from '../platform/tab-guard';

export class ActiveTab {
  role = $state<TabRole>({ role: 'starting' });
  readonly #guard: ActiveTabGuard;

  constructor(guard: ActiveTabGuard = new WebLocksTabGuard()) {
    this.#guard = guard;
    guard.subscribe((role) => (this.role = role));
  }

  /** Calls `listener` now and on every change of this tab's role. */
  onRole(listener: (role: TabRole) => void): () => void {
    return this.#guard.subscribe(listener);
  }

  start(): Promise<TabRole> {
    return this.#guard.start();
  }

  takeOver(): Promise<void> {
    return this.#guard.takeOver();
  }
}
