// The authentication cache where other processes share the database: on only while the revocation feed is heard, evicted by it, emptied when it is lost.
import { describe, expect, it } from 'vitest';
import { catalog, manualClock } from '../../test/harness.js';
import { SqliteTokenStore } from '../store/sqlite.js';
import type { Revocation, RevocationListener } from '../store/store.js';
import { digestSecret } from './secrets.js';
import { TokenService } from './service.js';

/**
 * A real store whose revocation feed the test drives, as a PostgreSQL replica's LISTEN connection
 * would: listening, lost, and revocations of writes made by "another replica" (quietly, below).
 */
class FeedDrivenStore extends SqliteTokenStore {
  listener: RevocationListener | undefined;
  lookups = 0;

  override listenForRevocations(listener: RevocationListener): () => void {
    this.listener = listener;
    return () => {};
  }

  override async findByDigest(digest: Buffer) {
    this.lookups++;
    return super.findByDigest(digest);
  }

  /** Deletes a token as another replica would: this process hears nothing unless the test says so. */
  async deleteElsewhere(id: string): Promise<void> {
    await this.write({ lock: [id], decide: () => ({ outcome: undefined, writes: { delete: id } }) });
  }
}

async function setUp() {
  const store = new FeedDrivenStore(':memory:');
  const clock = manualClock();
  const tokens = new TokenService({ store, catalog, clock, authCacheTtlMs: 600_000, cacheNeedsFeed: true });
  const listener = store.listener as RevocationListener;
  listener.listening();
  const admin = (await tokens.bootstrap())?.generatedSecret as string;
  const caller = await tokens.authenticate(admin);
  const create = async (name: string) =>
    tokens.createToken(caller as NonNullable<typeof caller>, { name, expiresAt: null });
  return { store, tokens, listener, create };
}

let serial = 0;
const revocation = (...secrets: string[]): Revocation => ({
  id: String(++serial),
  at: new Date(),
  digests: secrets.map(digestSecret),
});

describe('authentication cache that needs the feed (PostgreSQL replicas with AUTH_CACHE_TTL)', () => {
  it('caches while the feed is heard, and drops a token when its revocation arrives', async () => {
    const { store, tokens, listener, create } = await setUp();
    const token = await create('cached');
    await tokens.authenticate(token.secret);
    await store.deleteElsewhere(token.token.id);
    store.lookups = 0;
    expect((await tokens.authenticate(token.secret))?.id, 'cached: no store read').toBe(token.token.id);
    expect(store.lookups).toBe(0);
    listener.revoked(revocation(token.secret));
    expect(await tokens.authenticate(token.secret)).toBeUndefined();
  });

  it('empties the cache when the feed is lost, and reads the store for every request until it is heard again', async () => {
    const { store, tokens, listener, create } = await setUp();
    const [cached, during] = [await create('cached'), await create('during')];
    await tokens.authenticate(cached.secret);
    await store.deleteElsewhere(cached.token.id);
    listener.lost(new Error('LISTEN connection terminated'));
    expect(await tokens.authenticate(cached.secret), 'the cache was emptied').toBeUndefined();
    // Bypassed while lost: a token read now is not kept, so a revocation that goes unheard is seen.
    expect((await tokens.authenticate(during.secret))?.id).toBe(during.token.id);
    await store.deleteElsewhere(during.token.id);
    expect(await tokens.authenticate(during.secret), 'not cached while the feed is lost').toBeUndefined();
    // Heard again: cached again.
    listener.listening();
    const after = await create('after');
    await tokens.authenticate(after.secret);
    store.lookups = 0;
    await tokens.authenticate(after.secret);
    expect(store.lookups).toBe(0);
  });

  it('caches nothing before the feed is first heard', async () => {
    const store = new FeedDrivenStore(':memory:');
    const tokens = new TokenService({ store, catalog, clock: manualClock(), cacheNeedsFeed: true });
    const admin = (await tokens.bootstrap())?.generatedSecret as string;
    await tokens.authenticate(admin);
    store.lookups = 0;
    await tokens.authenticate(admin);
    expect(store.lookups).toBe(1);
  });
});
