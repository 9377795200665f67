// The verdict cache: keyed by the secret's digest, bounded, and never keeping a verdict past its token's expiry.
import type { ApiToken, ApiTokenVerdict } from '@api-tokens/client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cacheKey, digestOf, TOMBSTONE_MS, VerdictCache } from './verdictCache.js';

const SECRET = 'xaat-verdict-cache-secret-0123456789abcdefghijk';

const token = (expiresAt: string | null): ApiToken => ({
  id: '5f0c6f39-0c55-4a43-9d3f-3d1f3e6a2b7c',
  name: 'shipper',
  description: '',
  expiresAt,
  datasetCapabilities: {},
  orgCapabilities: {},
  viewCapabilities: {},
  samlAuthenticated: false,
  createdAt: '2026-11-29T09:00:00.000Z',
  apiLastUsed: null,
});
const valid = (expiresAt: string | null = null): ApiTokenVerdict => ({
  valid: true,
  code: 'VALID',
  token: token(expiresAt),
});

afterEach(() => {
  vi.useRealTimers();
});

describe('cacheKey', () => {
  it('holds neither the secret nor any part of it, and tells requirements apart', () => {
    const key = cacheKey(SECRET, { orgCapabilities: { apiTokens: ['read'] } });
    expect(key).not.toContain(SECRET.slice(5, 20));
    expect(key).not.toBe(cacheKey(SECRET, undefined));
    expect(key).not.toBe(cacheKey(`${SECRET}x`, { orgCapabilities: { apiTokens: ['read'] } }));
  });

  it('tells client addresses apart: a token bound to networks has a verdict per address', () => {
    expect(cacheKey(SECRET, undefined, '203.0.113.7')).not.toBe(cacheKey(SECRET, undefined, '198.51.100.4'));
    expect(cacheKey(SECRET, undefined, '203.0.113.7')).not.toBe(cacheKey(SECRET, undefined));
  });
});

describe('VerdictCache', () => {
  // Any instant but the epoch itself, which lru-cache takes for "no start time".
  const T = Date.parse('2026-11-29T10:00:00.000Z');

  it('keeps a verdict for ttlMs, then forgets it', () => {
    vi.useFakeTimers({ toFake: ['Date'], now: T });
    const cache = new VerdictCache(1000, 10);
    cache.set('k', valid());
    vi.setSystemTime(T + 999);
    expect(cache.get('k')).toEqual(valid());
    vi.setSystemTime(T + 1000);
    expect(cache.get('k')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("never keeps a valid verdict past the token's expiresAt", () => {
    vi.useFakeTimers({ toFake: ['Date'], now: T });
    const cache = new VerdictCache(60_000, 10);
    cache.set('k', valid(new Date(T + 500).toISOString()));
    vi.setSystemTime(T + 499);
    expect(cache.get('k')).toBeDefined();
    vi.setSystemTime(T + 500);
    expect(cache.get('k')).toBeUndefined();
  });

  it('keeps nothing with ttlMs 0, and never a RATE_LIMITED verdict', () => {
    const off = new VerdictCache(0, 10);
    off.set('k', valid());
    expect(off.get('k')).toBeUndefined();
    const on = new VerdictCache(60_000, 10);
    on.set('k', { valid: false, code: 'RATE_LIMITED', retryAfter: 1 });
    expect(on.get('k')).toBeUndefined();
  });

  it('never keeps a NOT_YET_VALID verdict: the token may start within the ttl', () => {
    const cache = new VerdictCache(60_000, 10);
    cache.set('k', { valid: false, code: 'NOT_YET_VALID' });
    expect(cache.get('k')).toBeUndefined();
  });

  it('holds at most maxEntries, dropping the least recently used', () => {
    const cache = new VerdictCache(60_000, 2);
    cache.set('a', valid());
    cache.set('b', valid());
    cache.get('a');
    cache.set('c', valid());
    expect(cache.keys()).toEqual(['a', 'c']);
  });

  describe('after a revocation (tombstones)', () => {
    const REVOKED = `${SECRET}-revoked`;
    const OTHER = `${SECRET}-other`;

    it('keeps no VALID verdict for the revoked digest, so the next look-up asks the token service; other digests are kept', () => {
      vi.useFakeTimers({ toFake: ['Date'], now: T });
      const cache = new VerdictCache(10 * 60_000, 10);
      const revoked = cacheKey(REVOKED, undefined);
      cache.set(revoked, valid());
      cache.forgetDigests([digestOf(REVOKED)]);
      expect(cache.get(revoked)).toBeUndefined();
      // A replica that has not heard of the revocation yet still answers VALID: not kept, asked again.
      cache.set(revoked, valid());
      expect(cache.get(revoked)).toBeUndefined();
      // Whatever was required of it: the tombstone is the digest's.
      const withRequirement = cacheKey(REVOKED, { orgCapabilities: { apiTokens: ['read'] } }, '203.0.113.7');
      cache.set(withRequirement, valid());
      expect(cache.get(withRequirement)).toBeUndefined();
      // Not one that only says the token lacks something: it still says the token lives.
      cache.set(revoked, {
        valid: false,
        code: 'INSUFFICIENT_CAPABILITIES',
        token: token(null),
        missing: ['orgCapabilities.apiTokens:read'],
      });
      expect(cache.get(revoked)).toBeUndefined();
      const other = cacheKey(OTHER, undefined);
      cache.set(other, valid());
      expect(cache.get(other)).toEqual(valid());
    });

    it('still keeps a verdict that the revoked token is gone', () => {
      vi.useFakeTimers({ toFake: ['Date'], now: T });
      const cache = new VerdictCache(10 * 60_000, 10);
      const revoked = cacheKey(REVOKED, undefined);
      cache.forgetDigests([digestOf(REVOKED)]);
      cache.set(revoked, { valid: false, code: 'NOT_FOUND' });
      expect(cache.get(revoked)).toEqual({ valid: false, code: 'NOT_FOUND' });
    });

    it('keeps the tombstone through a reset, and for TOMBSTONE_MS only', () => {
      vi.useFakeTimers({ toFake: ['Date'], now: T });
      const cache = new VerdictCache(10 * 60_000, 10);
      const revoked = cacheKey(REVOKED, undefined);
      cache.forgetDigests([digestOf(REVOKED)]);
      cache.reset(true);
      vi.setSystemTime(T + TOMBSTONE_MS - 1);
      cache.set(revoked, valid());
      expect(cache.get(revoked)).toBeUndefined();
      vi.setSystemTime(T + TOMBSTONE_MS);
      cache.set(revoked, valid());
      expect(cache.get(revoked)).toEqual(valid());
    });

    it('keeps no living verdict at all while more revocations than it can remember are recent', () => {
      vi.useFakeTimers({ toFake: ['Date'], now: T });
      const cache = new VerdictCache(10 * 60_000, 2);
      cache.forgetDigests([digestOf('a'), digestOf('b')]);
      vi.setSystemTime(T + 1000);
      // Pushes out a's tombstone 59 s early: a can no longer be told apart from any other digest.
      cache.forgetDigests([digestOf('c')]);
      const other = cacheKey(OTHER, undefined);
      cache.set(other, valid());
      expect(cache.get(other)).toBeUndefined();
      cache.set(other, { valid: false, code: 'NOT_FOUND' });
      expect(cache.get(other)).toEqual({ valid: false, code: 'NOT_FOUND' });
      vi.setSystemTime(T + TOMBSTONE_MS);
      cache.set(other, valid());
      expect(cache.get(other)).toEqual(valid());
    });

    it('does not count a tombstone pushed out after its time', () => {
      vi.useFakeTimers({ toFake: ['Date'], now: T });
      const cache = new VerdictCache(10 * 60_000, 1);
      cache.forgetDigests([digestOf('a')]);
      vi.setSystemTime(T + TOMBSTONE_MS);
      cache.forgetDigests([digestOf('b')]);
      const other = cacheKey(OTHER, undefined);
      cache.set(other, valid());
      expect(cache.get(other)).toEqual(valid());
    });
  });
});
