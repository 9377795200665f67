// Dead rows: long-expired tokens are purged in the background, and until then a listing page reads past only a bounded number of them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { catalog, manualClock } from '../../test/harness.js';
import { tokenRecord, uniqueDigest } from '../../test/records.js';
import { TokenService } from '../tokens/service.js';
import { PURGE_BATCH_SIZE, SqliteTokenStore } from './sqlite.js';
import type { TokenRecord } from './store.js';
import { DEFAULT_EXPIRED_TOKEN_RETENTION_MS } from './store.js';

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
  it('deletes exactly the tokens expired for longer than the retention period, a week by default', async () => {
    expect(DEFAULT_EXPIRED_TOKEN_RETENTION_MS).toBe(604_800_000);
    const store = open({ purgeEveryMs: 0 });
    const gone = await insert(store, new Date(NOW.getTime() - 7 * DAY - 1));
    const keptAtTheBound = await insert(store, new Date(NOW.getTime() - 7 * DAY));
    const recentlyExpired = await insert(store, new Date(NOW.getTime() - 1));
    const live = await insert(store, new Date(NOW.getTime() + 1));
    const forever = await insert(store, null);

    expect(await store.purgeExpired(NOW)).toBe(1);
    const ids = (await store.list({ now: new Date(0), limit: 10 })).tokens.map((listed) => listed.token.id);
    expect(ids).toEqual([keptAtTheBound.id, recentlyExpired.id, live.id, forever.id]);
    expect(ids).not.toContain(gone.id);
    expect(await store.purgeExpired(NOW)).toBe(0);
  });

  it('honours expiredTokenRetentionMs, and purges a replaced token once its grace period is that long past', async () => {
    const store = open({ purgeEveryMs: 0, expiredTokenRetentionMs: 60_000 });
    const old = await insert(store, null, 'rotated');
    const replacement = record(null, 'replacement');
    const outcome = await store.regenerate({
      id: old.id,
      now: NOW,
      issuer: { id: old.id, now: NOW },
      existingTokenExpiresAt: NOW,
      replacement,
      replacementSecretDigest: digest(),
    });
    expect(outcome).toBe('regenerated');
    expect(await store.purgeExpired(new Date(NOW.getTime() + 60_000))).toBe(0);
    expect(await store.purgeExpired(new Date(NOW.getTime() + 60_001))).toBe(1);
    expect(await store.count()).toBe(1);
    expect(await store.findById(replacement.id, NOW)).toMatchObject({ name: 'replacement' });
  });

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
    const store = open({ purgeEveryMs: 20 });
    // Expired more than a week ago by the real clock, which the background purge reads.
    await insert(store, new Date(Date.now() - 8 * DAY));
    await insert(store, null);
    await expect.poll(() => store.count(), { timeout: 5000 }).toBe(1);

    await store.close();
    // Closed, the timer no longer touches the file: a row written now stays.
    const db = new Database(join(dir, 'tokens.db'));
    db.prepare(
      "INSERT INTO tokens (id, name, description, expires_at, created_at, dataset_capabilities, org_capabilities, secret_digest) VALUES ('late', 'late', '', 0, 0, '{}', '{}', zeroblob(32))",
    ).run();
    await new Promise((resolve) => setTimeout(resolve, 100)); // five timer periods
    expect((db.prepare('SELECT count(*) AS n FROM tokens').get() as { n: number }).n).toBe(2);
    db.close();
  });

  it('keeps expiry exact before the purge: an expired, unpurged token is found by nothing', async () => {
    const store = open({ purgeEveryMs: 0 });
    const token = record(new Date(NOW.getTime() - 1));
    const secretDigest = digest();
    await store.insert(token, secretDigest);
    expect(await store.findById(token.id, NOW)).toBeUndefined();
    expect((await store.list({ now: NOW, limit: 10 })).tokens).toEqual([]);
    expect(await store.delete(token.id, NOW)).toBe(false);
    // By digest it is found with its expiry, for authentication to refuse it as expired.
    expect((await store.findByDigest(secretDigest))?.expiresAt).toEqual(token.expiresAt);
  });
});

describe('listing past expired rows', () => {
  const EXPIRED_ROWS_READ_PER_PAGE = 5;

  /** A store of live tokens separated by runs of expired ones, some runs longer than a page reads. */
  async function interleaved() {
    const store = open({ purgeEveryMs: 0, expiredRowsReadPerPage: EXPIRED_ROWS_READ_PER_PAGE });
    const live: string[] = [];
    for (const run of [0, 3, 12, 0, 40, 1, 6, 0, 25]) {
      for (let i = 0; i < run; i++) await insert(store, new Date(NOW.getTime() - 1));
      live.push((await insert(store, null)).id);
    }
    for (let i = 0; i < 30; i++) await insert(store, new Date(NOW.getTime() - 1)); // a dead tail
    return { store, live };
  }

  it('reads a bounded number of expired rows per page, ending the page early with a next position', async () => {
    const { store } = await interleaved();
    const reads: number[] = [];
    let after: number | undefined;
    for (;;) {
      const page = await store.list({ now: NOW, limit: 2, after });
      const read = page.next === undefined ? undefined : page.next - (after ?? 0);
      if (read !== undefined) reads.push(read);
      expect(page.tokens.length).toBeLessThanOrEqual(2);
      if (page.next === undefined) break;
      after = page.next;
    }
    // Positions are consecutive here, so a page's span is the rows it read: never more than
    // the page (plus the one that tells whether more follow) and the bound of expired rows.
    expect(Math.max(...reads)).toBeLessThanOrEqual(2 + 1 + EXPIRED_ROWS_READ_PER_PAGE);
  });

  it('walks every live token exactly once, in order, whatever the page size; pages may hold fewer than the limit', async () => {
    const { store, live } = await interleaved();
    const tokens = new TokenService({ store, catalog, clock: manualClock(NOW) });
    for (const limit of [1, 2, 3, 7, 1000]) {
      const walked: string[] = [];
      let short = 0;
      let after: number | undefined;
      let pages = 0;
      do {
        const page = await tokens.listTokens({ limit, after });
        walked.push(...page.tokens.map((token) => token.id));
        if (page.next !== undefined && page.tokens.length < limit) short++;
        after = page.next;
        pages++;
        expect(pages).toBeLessThan(200); // a walk that does not end fails here, not by timeout
      } while (after !== undefined);
      expect(walked).toEqual(live);
      if (limit < 1000) expect(short).toBeGreaterThan(0);
    }
    // The unpaged listing streams the same walk.
    const streamed: string[] = [];
    for await (const page of tokens.pagesOfTokens()) streamed.push(...page.map((token) => token.id));
    expect(streamed).toEqual(live);
  });

  it('ends the walk without a next page when only expired rows follow', async () => {
    const store = open({ purgeEveryMs: 0, expiredRowsReadPerPage: EXPIRED_ROWS_READ_PER_PAGE });
    const live = await insert(store, null);
    for (let i = 0; i < EXPIRED_ROWS_READ_PER_PAGE; i++) await insert(store, new Date(NOW.getTime() - 1));
    const page = await store.list({ now: NOW, limit: 1 });
    expect(page.tokens.map((listed) => listed.token.id)).toEqual([live.id]);
    expect(page.next).toBeUndefined();
  });
});
