// The authentication cache: a hit costs no store read, and no change to a token is ever hidden by it.
import { describe, expect, it } from 'vitest';
import { catalog, manualClock } from '../../test/harness.js';
import { SqliteTokenStore } from '../store/sqlite.js';
import { TokenService } from './service.js';

/** The real store, counting digest lookups and able to hold one until the test lets it finish. */
class ObservedStore extends SqliteTokenStore {
  lookups = 0;
  gate: Promise<void> | undefined;

  override async findByDigest(digest: Buffer) {
    this.lookups++;
    const found = await super.findByDigest(digest);
    await this.gate;
    return found;
  }
}

async function setUp(authCacheSize?: number) {
  const store = new ObservedStore(':memory:');
  const clock = manualClock();
  const tokens = new TokenService({ store, catalog, clock, authCacheSize });
  const admin = (await tokens.bootstrap())?.generatedSecret as string;
  const caller = await tokens.authenticate(admin);
  const created = await tokens.createToken(caller as NonNullable<typeof caller>, {
    name: 'cached',
    orgCapabilities: { apiTokens: ['read'] },
    expiresAt: new Date(clock().getTime() + 60_000),
  });
  store.lookups = 0;
  return { store, clock, tokens, created };
}

describe('authentication cache', () => {
  it('reads the store once for a token used again and again', async () => {
    const { store, tokens, created } = await setUp();
    for (let i = 0; i < 5; i++)
      expect((await tokens.authenticate(created.secret))?.id).toBe(created.token.id);
    expect(store.lookups).toBe(1);
  });

  it('reads the store every time when its size is 0', async () => {
    const { store, tokens, created } = await setUp(0);
    for (let i = 0; i < 3; i++) await tokens.authenticate(created.secret);
    expect(store.lookups).toBe(3);
  });

  it('still honours expiry, to the millisecond', async () => {
    const { clock, tokens, created } = await setUp();
    await tokens.authenticate(created.secret);
    clock.advance(59_999);
    expect(await tokens.authenticate(created.secret)).toBeDefined();
    clock.advance(1);
    expect(await tokens.authenticate(created.secret)).toBeUndefined();
  });

  it('drops a deleted token at once', async () => {
    const { tokens, created } = await setUp();
    await tokens.authenticate(created.secret);
    await tokens.deleteToken(created.token.id);
    expect(await tokens.authenticate(created.secret)).toBeUndefined();
  });

  it('sees the grace period a regenerate sets', async () => {
    const { clock, tokens, created } = await setUp();
    const caller = await tokens.authenticate(created.secret);
    await tokens.regenerateToken(
      { ...(caller as NonNullable<typeof caller>), orgCapabilities: { apiTokens: ['read', 'update'] } },
      created.token.id,
      { existingTokenExpiresAt: new Date(clock().getTime() + 10) },
    );
    clock.advance(10);
    expect(await tokens.authenticate(created.secret)).toBeUndefined();
  });

  it('does not cache a read that raced with a delete', async () => {
    const { store, tokens, created } = await setUp();
    let release = () => {};
    store.gate = new Promise((resolve) => {
      release = resolve;
    });
    const racing = tokens.authenticate(created.secret); // reads the token, then waits at the gate
    await new Promise((resolve) => setImmediate(resolve));
    await tokens.deleteToken(created.token.id);
    release();
    store.gate = undefined;
    expect((await racing)?.id).toBe(created.token.id); // it began before the delete: that answer may stand
    expect(await tokens.authenticate(created.secret)).toBeUndefined(); // but it was not cached
  });

  it('keeps at most its size, evicting the least recently used', async () => {
    const store = new ObservedStore(':memory:');
    const tokens = new TokenService({ store, catalog, clock: manualClock(), authCacheSize: 2 });
    const admin = await tokens.authenticate((await tokens.bootstrap())?.generatedSecret as string);
    const [a, b, c] = await Promise.all(
      ['a', 'b', 'c'].map(
        async (name) =>
          (await tokens.createToken(admin as NonNullable<typeof admin>, { name, expiresAt: null })).secret,
      ),
    );
    store.lookups = 0;
    await tokens.authenticate(a as string); // miss
    await tokens.authenticate(b as string); // miss
    await tokens.authenticate(a as string); // hit: a is now the most recently used
    await tokens.authenticate(c as string); // miss: evicts b
    await tokens.authenticate(a as string); // hit
    expect(store.lookups).toBe(3);
    await tokens.authenticate(b as string); // miss: it was evicted
    expect(store.lookups).toBe(4);
  });
});
