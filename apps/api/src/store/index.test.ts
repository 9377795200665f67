// The store factory: DATABASE_URL's scheme picks the store, and a value it cannot use is refused unechoed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, pgSkipped, type TestDatabase } from '../../test/postgres.js';
import { memoryCounters } from '../counters.js';
import { openStore } from './index.js';
import { PostgresTokenStore } from './postgres.js';
import { SqliteTokenStore } from './sqlite.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'api-tokens-factory-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('openStore', () => {
  it('opens sqlite:<path>, which shares no pool', async () => {
    const { store, rateLimitCounters } = await openStore(`sqlite:${join(dir, 'x.db')}`);
    expect(store).toBeInstanceOf(SqliteTokenStore);
    expect(rateLimitCounters).toBe(memoryCounters);
    expect(await store.count()).toBe(0);
    await store.close();
  });

  it('says an in-process cache is exact on SQLite only when the file is claimed for this process alone', async () => {
    const path = `sqlite:${join(dir, 'x.db')}`;
    const sole = await openStore(path, { cache: true });
    expect(sole.cacheExact).toBe(true);
    await sole.store.close();
    const shared = await openStore(path, { cache: false });
    expect(shared.cacheExact).toBe(false);
    // A claim 'shared' rules out a second process wanting the file alone.
    await expect(openStore(path, { cache: true })).rejects.toThrow(/in use/);
    await shared.store.close();
  });

  it.each(['mysql://user:hunter2@db/tokens', './tokens.db', 'sqlite:', 'postgres://'])(
    'refuses %s without echoing it',
    async (url) => {
      const refusal = await openStore(url).catch((err: Error) => err);
      expect(refusal).toBeInstanceOf(Error);
      expect((refusal as Error).message).toMatch(
        /^DATABASE_URL: unsupported value; expected sqlite:<path> .* or postgres:\/\//,
      );
      expect((refusal as Error).message).not.toContain('hunter2');
    },
  );

  it('gives up on an unreachable PostgreSQL after the connect timeout, naming where without the password', async () => {
    const started = Date.now();
    const refusal = await openStore('postgres://user:hunter2@127.0.0.1:1/tokens', {
      connectTimeoutMs: 600,
    }).catch((err: Error) => err);
    expect((refusal as Error).message).toMatch(
      /^cannot reach PostgreSQL at 127\.0\.0\.1:1\/tokens within 1 s \(.*ECONNREFUSED/,
    );
    expect((refusal as Error).message).not.toContain('hunter2');
    // It retried for the timeout rather than giving up at the first refusal.
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });
});

describe.skipIf(pgSkipped)('openStore on PostgreSQL', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it.each(['postgres', 'postgresql'])('opens %s://, a store many processes may share', async (scheme) => {
    const { store, cacheExact, rateLimitCounters } = await openStore(
      database.url.replace(/^postgres/, scheme),
    );
    expect(store).toBeInstanceOf(PostgresTokenStore);
    // Replicas may change the database behind this process's back, claim or none.
    expect(cacheExact).toBe(false);
    const wantingCache = await openStore(database.url, { cache: true });
    expect(wantingCache.cacheExact).toBe(false);
    await wantingCache.store.close();
    expect(rateLimitCounters).not.toBe(memoryCounters);
    expect(await store.count()).toBe(0);
    await store.close();
  });
});
