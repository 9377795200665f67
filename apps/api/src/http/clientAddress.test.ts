// Per-address limits count an IPv6 client by its /64, so one subscriber does not get 2^64 budgets.
import { describe, expect, it } from 'vitest';
import { addressKey } from './clientAddress.js';
import { FailedAuthenticationLimiter, LeakReportLimiter } from './rateLimits.js';

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

describe('the per-address limiters', () => {
  it('count every address of one IPv6 /64 against one failed-authentication budget', async () => {
    const limiter = new FailedAuthenticationLimiter(2);
    await limiter.recordFailure('2001:db8:1:2::1');
    await limiter.recordFailure('2001:db8:1:2::2');
    await expect(limiter.recordFailure('2001:db8:1:2:ffff::3')).rejects.toMatchObject({ status: 429 });
    // Another /64 has its own budget.
    await expect(limiter.recordFailure('2001:db8:1:3::1')).resolves.toBeUndefined();
  });

  it('count leak reports from one IPv6 /64 together', async () => {
    const limiter = new LeakReportLimiter(1);
    await limiter.recordReport('2001:db8:9:9::1');
    await expect(limiter.recordReport('2001:db8:9:9::2')).rejects.toMatchObject({ status: 429 });
    await expect(limiter.recordReport('203.0.113.7')).resolves.toBeUndefined();
  });
});
