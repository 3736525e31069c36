/** The ack rule: a cursor moves over stored items, and over a missing number only once it is settled. */
import { describe, expect, it } from 'vitest';
import { IN_FLIGHT_MAX_MS, settledCursor } from '../../lambdas/core/cursor';

const NOW = 1_800_000_000_000;
const recent = NOW - 1000;
const settled = NOW - IN_FLIGHT_MAX_MS - 1;

describe('settledCursor', () => {
  it('moves over consecutive stored items up to the acked number, never past it', () => {
    const stored = [4, 5, 6, 7].map((seq) => ({ seq, storedAt: recent }));
    expect(settledCursor(3, stored, 6, NOW)).toBe(6);
    expect(settledCursor(3, stored, 99, NOW)).toBe(7);
  });

  it('stops before a missing number that may still be written', () => {
    // 5 was allocated before 6 was stored, a second ago: its writer may still be running.
    const stored = [4, 6, 7].map((seq) => ({ seq, storedAt: recent }));
    expect(settledCursor(3, stored, 7, NOW)).toBe(4);
  });

  it('moves over a missing number once an item after it is older than any handler runs', () => {
    const stored = [
      { seq: 4, storedAt: settled },
      { seq: 6, storedAt: settled },
      { seq: 9, storedAt: recent },
    ];
    expect(settledCursor(3, stored, 9, NOW)).toBe(6);
    expect(settledCursor(3, stored, 9, NOW + IN_FLIGHT_MAX_MS)).toBe(9);
  });

  it('treats items from before storedAt existed as long settled', () => {
    expect(settledCursor(0, [{ seq: 2 }, { seq: 5 }], 5, NOW)).toBe(5);
  });

  it('never moves backwards and stays put when nothing is stored after it', () => {
    expect(settledCursor(10, [], 4, NOW)).toBe(10);
    expect(settledCursor(10, [], 50, NOW)).toBe(10);
  });
});
