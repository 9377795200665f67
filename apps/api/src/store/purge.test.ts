// SQLite's purge: batches that let other work run between them, a timer that close() stops, and the service's streamed listing past unpurged rows (the rest is the TokenStore contract's).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { catalog, manualClock } from '../../test/harness.js';
import { tokenRecord, uniqueDigest } from '../../test/records.js';
import { TokenService } from '../tokens/service.js';
import { PURGE_BATCH_SIZE, SqliteTokenStore } from './sqlite.js';
import type { TokenRecord } from './store.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = new Date('2030-01-01T00:00:00.000Z');

let dir: string;
const opened: SqliteTokenStore[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'api-tokens-purge-'));
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
  rmSync(dir, { recursive: true, force: true });
});

function open(options: ConstructorParameters<typeof SqliteTokenStore>[1] = {}) {
  const store = new SqliteTokenStore(join(dir, 'tokens.db'), { checkpointEveryMs: 0, ...options });
  opened.push(store);
  return store;
}

const record = (expiresAt: Date | null, name?: string): TokenRecord => tokenRecord(name, expiresAt);
const digest = uniqueDigest;

async function insert(store: SqliteTokenStore, expiresAt: Date | null, name?: string) {
  const token = record(expiresAt, name);
  expect(await store.insert(token, digest())).toBe('inserted');
  return token;
}

describe('purgeExpired', () => {
  it('works through a large backlog in batches, letting other work run between them', async () => {
    const store = open({ purgeEveryMs: 0 });
    const expired = 2 * PURGE_BATCH_SIZE + 7;
    await Promise.all(
      Array.from({ length: expired }, () => insert(store, new Date(NOW.getTime() - 30 * DAY))),
    );
    const live = await insert(store, null, 'live');

    const purging = store.purgeExpired(NOW);
    // Other work gets the event loop while the purge is under way: this read runs between batches.
    await new Promise((resolve) => setImmediate(resolve));
    const midway = await store.count();
    expect(midway).toBeGreaterThan(1);
    expect(midway).toBeLessThan(expired + 1);
    expect(await purging).toBe(expired);
    expect(await store.count()).toBe(1);
    expect(await store.findById(live.id, NOW)).toBeDefined();
  });

  it('runs on its own timer, which close() stops', async () => {
    // Only the interval is the test's to move; the real clock still says what has expired.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const store = open({ purgeEveryMs: 20 });
      // Expired more than a week ago by the real clock, which the background purge reads.
      await insert(store, new Date(Date.now() - 8 * DAY));
      await insert(store, null);
      expect(await store.count()).toBe(2);
      vi.advanceTimersByTime(20);
      await expect.poll(() => store.count(), { timeout: 5000 }).toBe(1);

      await store.close();
      expect(vi.getTimerCount()).toBe(0);
      // Closed, the timer no longer touches the file: a row written now stays, however long after.
      const db = new Database(join(dir, 'tokens.db'));
      db.prepare(
        "INSERT INTO tokens (id, name, description, expires_at, created_at, dataset_capabilities, org_capabilities, secret_digest) VALUES ('late', 'late', '', 0, 0, '{}', '{}', zeroblob(32))",
      ).run();
      vi.advanceTimersByTime(100); // five timer periods
      expect((db.prepare('SELECT count(*) AS n FROM tokens').get() as { n: number }).n).toBe(2);
      db.close();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("the service's streamed listing past expired rows", () => {
  it('streams every live token exactly once, in order, past runs of expired ones longer than a page reads', async () => {
    const store = open({ purgeEveryMs: 0, expiredRowsReadPerPage: 5 });
    const live: string[] = [];
    for (const run of [0, 3, 12, 0, 40, 1, 6, 0, 25]) {
      for (let i = 0; i < run; i++) await insert(store, new Date(NOW.getTime() - 1));
      live.push((await insert(store, null)).id);
    }
    for (let i = 0; i < 30; i++) await insert(store, new Date(NOW.getTime() - 1)); // a dead tail
    const tokens = new TokenService({ store, catalog, clock: manualClock(NOW) });
    const streamed: string[] = [];
    for await (const page of tokens.pagesOfTokens()) streamed.push(...page.map((token) => token.id));
    expect(streamed).toEqual(live);
  });
});
