/** Per-address counting groups IPv6 addresses by /64 (issue 9, point 8). */
import { describe, expect, it } from 'vitest';
import { addressGroup } from '../../lambdas/shared/address';

describe('addressGroup', () => {
  it('counts every address of one IPv6 /64 as one, however it is written', () => {
    const group = addressGroup('2001:db8:0:1::1');
    for (const address of [
      '2001:db8:0:1:ffff:ffff:ffff:ffff',
      '2001:0db8:0000:0001:0000:0000:0000:0002',
      '2001:DB8:0:1:abcd::',
      '2001:db8::1:1:2:3:4', // "::" for the third group
      '2001:db8:0:1::1.2.3.4', // an IPv4 tail
    ])
      expect(addressGroup(address), address).toBe(group);
    expect(group).toBe('2001:db8:0:1::/64');
  });

  it('keeps different /64s apart', () => {
    expect(addressGroup('2001:db8:0:2::1')).not.toBe(addressGroup('2001:db8:0:1::1'));
    expect(addressGroup('2001:db8:1:1::1')).not.toBe(addressGroup('2001:db8:0:1::1'));
  });

  it('counts IPv4 addresses one by one, also when written IPv4-mapped', () => {
    expect(addressGroup('203.0.113.7')).toBe('203.0.113.7');
    expect(addressGroup('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressGroup('::ffff:cb00:7107')).toBe('203.0.113.7');
    expect(addressGroup('203.0.113.8')).not.toBe(addressGroup('203.0.113.7'));
  });
});
