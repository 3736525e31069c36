/**
 * What this device could not open, summed up instead of one error per message: a restored device
 * reading the retained inbox meets every message sealed to a prekey retired before its backup, and
 * a user wants one line about that, not hundreds. Duplicates (REPLAY) are not failures: a message
 * arrives again after a reconnect by design, and is dropped without a word.
 */
import { CryptoError } from '../../protocol/crypto-error';
import { CipherlineError } from './errors';
import type { EventStream } from './events';

const REASONS: Partial<Record<string, string>> = {
  UNKNOWN_PREKEY: 'sent to keys retired before this device was set up',
  IDENTITY_CHANGED: "the sender's keys changed (compare safety numbers)",
  TOO_OLD: 'older than the 30 days messages are kept',
  NO_GROUP_KEY: 'their group key never reached this device',
};

export class Unreadable {
  readonly #counts = new Map<string, number>();

  constructor(private readonly events: EventStream) {}

  add(reason: string, _detail?: string): void {
    this.#counts.set(reason, (this.#counts.get(reason) ?? 0) + 1);
  }

  /** Counts a failure to open a message; a duplicate is ignored. */
  addError(error: unknown, _from?: string): void {
    const code =
      error instanceof CryptoError
        ? error.code
        : error instanceof CipherlineError
          ? (error.cryptoCode ?? error.code)
          : 'INTERNAL';
    if (code === 'REPLAY') return;
    this.add(REASONS[code] ?? `failed its checks (${code})`);
  }

  /** Emits the summary of what was counted since the last one, if anything. */
  flush(): void {
    if (this.#counts.size === 0) return;
    const reasons = Object.fromEntries(this.#counts);
    const count = [...this.#counts.values()].reduce((a, b) => a + b, 0);
    this.#counts.clear();
    this.events.emit({ type: 'unreadable-summary', count, reasons });
  }
}
