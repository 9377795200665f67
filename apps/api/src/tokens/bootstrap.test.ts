// Bootstrap once: what the rule writes for each history, and that a store once holding tokens never bootstraps.
import { describe, expect, it } from 'vitest';
import { tokenRecord, uniqueDigest } from '../../test/records.js';
import { SqliteTokenStore } from '../store/sqlite.js';
import { BOOTSTRAPPED, bootstrapOnce } from './bootstrap.js';
import { deletion } from './deletion.js';

const NOW = new Date('2030-01-01T00:00:00.000Z');
const request = () => ({ token: tokenRecord('bootstrap'), secretDigest: uniqueDigest(), now: NOW });

describe('bootstrapOnce', () => {
  it('stores the token, and marks the store, only where it was never bootstrapped and holds no token', () => {
    const asked = request();
    expect(bootstrapOnce(asked).decide({ marked: false, hasTokens: false })).toEqual({
      outcome: true,
      writes: {
        insert: { token: asked.token, secretDigest: asked.secretDigest },
        event: undefined,
        mark: { fact: BOOTSTRAPPED, at: NOW },
      },
    });
    expect(bootstrapOnce(request()).decide({ marked: true, hasTokens: false })).toEqual({ outcome: false });
    expect(bootstrapOnce(request()).decide({ marked: true, hasTokens: true })).toEqual({ outcome: false });
  });

  it('marks a store found holding tokens without a bootstrap, so that deleting them does not open it to one', async () => {
    const store = new SqliteTokenStore(':memory:');
    const stored = tokenRecord('stored by a tool');
    await store.insert(stored, uniqueDigest());
    expect(await store.writeOnce(bootstrapOnce(request()))).toBe(false);
    expect(await store.write(deletion({ id: stored.id, now: NOW }))).toEqual({ deleted: undefined });
    expect(await store.count()).toBe(0);
    expect(await store.writeOnce(bootstrapOnce(request()))).toBe(false);
    await store.close();
  });
});
