// The negative cache: an unknown secret repeated costs one store read, and a chosen secret stored later is found.
import { describe, expect, it } from 'vitest';
import { catalog, manualClock } from '../../test/harness.js';
import { SqliteTokenStore } from '../store/sqlite.js';
import { generateSecret } from './secrets.js';
import { TokenService } from './service.js';
import { UnknownDigests } from './unknownDigests.js';

class CountingStore extends SqliteTokenStore {
  lookups = 0;

  override async findByDigest(digest: Buffer) {
    this.lookups++;
    return super.findByDigest(digest);
  }
}

describe('the negative cache', () => {
  it('reads the store once for an unknown secret presented again and again', async () => {
    const store = new CountingStore(':memory:');
    const tokens = new TokenService({ store, catalog, clock: manualClock() });
    const unknown = generateSecret();
    for (let i = 0; i < 100; i++) expect(await tokens.authenticate(unknown)).toBeUndefined();
    expect(store.lookups).toBe(1);
  });

  it('is cleared when a BOOTSTRAP_TOKEN tried before is stored: it then authenticates', async () => {
    const store = new CountingStore(':memory:');
    const tokens = new TokenService({ store, catalog, clock: manualClock() });
    const chosen = generateSecret();
    expect(await tokens.authenticate(chosen)).toBeUndefined();
    expect(await tokens.bootstrap(chosen)).toEqual({});
    expect((await tokens.authenticate(chosen))?.name).toBe('bootstrap-admin');
  });

  it('does not remember a read that began before it was cleared', () => {
    const cache = new UnknownDigests(10);
    const generation = cache.generation;
    cache.clear();
    cache.remember('digest', generation);
    expect(cache.has('digest')).toBe(false);
    cache.remember('digest', cache.generation);
    expect(cache.has('digest')).toBe(true);
  });

  it('is bounded: past its size the least recently seen digest is forgotten', () => {
    const cache = new UnknownDigests(2);
    for (const key of ['a', 'b', 'c']) cache.remember(key, cache.generation);
    expect(['a', 'b', 'c'].map((key) => cache.has(key))).toEqual([false, true, true]);
  });
});
