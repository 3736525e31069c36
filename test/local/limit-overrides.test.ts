/** `npm start -- --limits '<json>'`: the only way to run a started stack with other limits. */
import { describe, expect, it } from 'vitest';
import { parseLimitOverrides } from '../../infra/local/limit-overrides';

describe('--limits', () => {
  it('takes any limit and any per-minute rate by name', () => {
    expect(
      parseLimitOverrides('{"signupsPerAddressPerHour": 1000, "perMinute": {"send": 5}}'),
    ).toEqual({ signupsPerAddressPerHour: 1000, perMinute: { send: 5 } });
  });

  it('refuses unknown names, fractions and non-JSON with a message naming the limits', () => {
    expect(() => parseLimitOverrides('{"signupsPerHour": 1}')).toThrow(/signupsPerAddressPerHour/);
    expect(() => parseLimitOverrides('{"perMinute": {"sned": 1}}')).toThrow(/perMinute\.send/);
    expect(() => parseLimitOverrides('{"groupMemberCap": 2.5}')).toThrow(/whole numbers/);
    expect(() => parseLimitOverrides('signups=1')).toThrow(/JSON object/);
  });
});
