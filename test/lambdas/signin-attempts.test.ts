/** The back-off a reservation sets (issue 9, point 7): free attempts, then doubling waits, capped. */
import { describe, expect, it } from 'vitest';
import { PRODUCTION_LIMITS } from '../../lambdas/shared/limits';
import { attemptPolicy, nextAttemptAt } from '../../lambdas/shared/signin-attempts';

describe('nextAttemptAt', () => {
  const policy = attemptPolicy(PRODUCTION_LIMITS, 5);
  it('costs nothing for the free attempts, then doubles the wait up to the cap', () => {
    expect([1, 2, 3, 4].map((count) => nextAttemptAt(count, 1000, policy))).toEqual([0, 0, 0, 0]);
    expect([5, 6, 7, 8].map((count) => nextAttemptAt(count, 1000, policy) - 1000)).toEqual([
      1000, 2000, 4000, 8000,
    ]);
    expect(nextAttemptAt(40, 1000, policy) - 1000).toBe(PRODUCTION_LIMITS.signinMaxDelayMs);
  });
});
