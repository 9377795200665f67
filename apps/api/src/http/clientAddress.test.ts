// Per-address limits count an IPv6 client by its /64, so one subscriber does not get 2^64 budgets.
import { describe, expect, it } from 'vitest';
import { addressKey } from './clientAddress.js';

describe('addressKey', () => {
  it('keys every address of one IPv6 /64 the same, and other /64s apart', () => {
    const key = addressKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd');
    expect(key).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2::1')).toBe(key);
    expect(addressKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe(key);
    expect(addressKey('2001:db8:1:3::1')).not.toBe(key);
  });

  it('keys IPv4 addresses alone, written plainly or IPv4-mapped', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('203.0.113.8')).not.toBe(addressKey('203.0.113.7'));
  });

  it('keeps what is not an IP address as it is', () => {
    expect(addressKey('unknown')).toBe('unknown');
  });
});
