// The webhook outbox's promises, on both stores: messages exist exactly when their change does, each due delivery is claimed by one owner at a time until its lease ends, and each expiry notice is recorded once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, pgSkipped, resetTestDatabase, type TestDatabase } from '../../test/postgres.js';
import { tokenRecord, uniqueDigest } from '../../test/records.js';
import { auditEvent, tokenRef } from '../tokens/audit.js';
import { deletion } from '../tokens/deletion.js';
import { PostgresTokenStore } from './postgres.js';
import { SqliteTokenStore } from './sqlite.js';
import type { AuditEvent, OutboxMessage, TokenRecord, TokenStore } from './store.js';

const URLS = ['https://a.example/hooks', 'https://b.example/hooks'];
const T0 = new Date('2030-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const DAY = 86_400_000;

/** The domain's part, as a test states it: every event goes to both URLs, due at its time. */
const outbox = (event: AuditEvent): OutboxMessage[] =>
  URLS.map((url) => ({
    webhookId: `msg_${event.id}`,
    eventId: event.id,
    type: event.type,
    url,
    body: JSON.stringify({ type: event.type, id: event.id }),
    createdAt: event.time,
    nextAttemptAt: event.time,
  }));

const created = (token: TokenRecord) => auditEvent('token.created', { time: T0, target: tokenRef(token) });

let database: TestDatabase | undefined;
let dir: string;
const open: TokenStore[] = [];
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'api-tokens-outbox-'));
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((store) => store.close()));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await database?.drop();
});

const kinds = pgSkipped ? (['SQLite'] as const) : (['SQLite', 'PostgreSQL'] as const);

describe.each(kinds)('the webhook outbox on %s', (kind) => {
  let path: string;

  /** A fresh, empty store; `another` opens a second process's view of the same database. */
  async function fresh(): Promise<{ store: TokenStore; another: () => Promise<TokenStore> }> {
    let openOne: () => Promise<TokenStore>;
    if (kind === 'SQLite') {
      path = join(dir, `${Math.random().toString(36).slice(2)}.db`);
      openOne = async () =>
        new SqliteTokenStore(path, {
          outbox,
          purgeEveryMs: 0,
          checkpointEveryMs: 0,
          auditRetentionMs: DAY,
          expiredTokenRetentionMs: DAY,
        });
    } else {
      database ??= await createTestDatabase();
      const url = database.url;
      await resetTestDatabase(url);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(
        "DO $$ BEGIN IF to_regclass('webhook_outbox') IS NOT NULL THEN TRUNCATE webhook_outbox, webhook_expiry_notices, webhook_gone_urls; END IF; END $$",
      );
      await client.end();
      openOne = () =>
        PostgresTokenStore.open(url, {
          outbox,
          purgeEveryMs: 0,
          poolSize: 4,
          auditRetentionMs: DAY,
          expiredTokenRetentionMs: DAY,
        });
    }
    const another = async () => {
      const store = await openOne();
      open.push(store);
      return store;
    };
    return { store: await another(), another };
  }

  /** How many expiry notices the database holds, read beside the store. */
  async function noticesStored(): Promise<number> {
    if (kind === 'SQLite') {
      const db = new Database(path, { readonly: true });
      try {
        return (db.prepare('SELECT count(*) AS count FROM webhook_expiry_notices').get() as { count: number })
          .count;
      } finally {
        db.close();
      }
    }
    const client = new pg.Client({ connectionString: database?.url });
    await client.connect();
    try {
      const found = await client.query('SELECT count(*)::integer AS count FROM webhook_expiry_notices');
      return found.rows[0].count as number;
    } finally {
      await client.end();
    }
  }

  it("writes an event's messages in its change's transaction: with every write that records one, never with a refused one", async () => {
    const { store } = await fresh();
    const kept = tokenRecord('kept');
    expect(await store.insert(kept, uniqueDigest(), undefined, created(kept))).toBe('inserted');
    const refused = tokenRecord('refused');
    const check = { lock: kept.id, refuse: () => 'no' as const };
    expect(await store.insert(refused, uniqueDigest(), check, created(refused))).toBe('no');
    const deleted = auditEvent('token.deleted', { time: T0, target: tokenRef(kept) });
    await store.write({
      lock: [kept.id],
      decide: () => ({ outcome: undefined, writes: { delete: kept.id, event: deleted } }),
    });
    await store.write({ lock: [kept.id], decide: () => ({ outcome: undefined }) });

    const { deliveries } = await store.listDeliveries({ limit: 100 });
    expect(deliveries.map((delivery) => [delivery.type, delivery.url])).toEqual([
      ['token.deleted', URLS[1]],
      ['token.deleted', URLS[0]],
      ['token.created', URLS[1]],
      ['token.created', URLS[0]],
    ]);
    expect(deliveries.every((delivery) => delivery.status === 'pending' && delivery.attempts === 0)).toBe(
      true,
    );
    expect(await store.countPendingDeliveries()).toBe(4);
  });

  it('claims each due delivery for one owner at a time, until its lease ends, even across processes', async () => {
    const { store, another } = await fresh();
    for (let index = 0; index < 10; index++) {
      const token = tokenRecord('claimed');
      await store.insert(token, uniqueDigest(), undefined, created(token));
    }
    const other = await another();
    const leaseUntil = at(15_000);
    const [mine, theirs] = await Promise.all([
      store.claimDeliveries({ now: T0, limit: 15, owner: 'one', leaseUntil }),
      other.claimDeliveries({ now: T0, limit: 15, owner: 'two', leaseUntil }),
    ]);
    const positions = [...mine, ...theirs].map((delivery) => delivery.position);
    expect(new Set(positions).size).toBe(20);
    expect(positions).toHaveLength(20);
    expect([...mine, ...theirs].every((delivery) => delivery.attempts === 1)).toBe(true);
    // Leased: nobody else gets them before the lease ends, nor records over the holder.
    expect(
      await other.claimDeliveries({ now: at(14_999), limit: 50, owner: 'three', leaseUntil: at(30_000) }),
    ).toEqual([]);
    const [held] = mine.length > 0 ? mine : theirs;
    const holder = mine.length > 0 ? 'one' : 'two';
    const outcome = {
      status: 'pending' as const,
      nextAttemptAt: T0,
      lastStatus: 503,
      lastError: 'answered 503',
    };
    expect(await store.recordDelivery(held?.position as number, 'three', outcome)).toBe(false);
    // The holder died: past the lease another claims every row again, with one more attempt counted.
    const reclaimed = await other.claimDeliveries({
      now: leaseUntil,
      limit: 50,
      owner: 'three',
      leaseUntil: at(30_000),
    });
    expect(reclaimed).toHaveLength(20);
    expect(reclaimed.every((delivery) => delivery.attempts === 2)).toBe(true);
    expect(await store.recordDelivery(held?.position as number, holder, outcome)).toBe(false);
    expect(await store.recordDelivery(held?.position as number, 'three', outcome)).toBe(true);
  });

  it('records outcomes: a retry is due again at its time, a finished delivery never, and pages list newest first', async () => {
    const { store } = await fresh();
    for (let index = 0; index < 3; index++) {
      const token = tokenRecord('recorded');
      await store.insert(token, uniqueDigest(), undefined, created(token));
    }
    const claimed = await store.claimDeliveries({ now: T0, limit: 50, owner: 'one', leaseUntil: at(15_000) });
    expect(claimed).toHaveLength(6);
    const [retry, delivered, gone, failed] = claimed;
    await store.recordDelivery(retry?.position as number, 'one', {
      status: 'pending',
      nextAttemptAt: at(5000),
      lastStatus: null,
      lastError: 'timed out after 10 s',
    });
    await store.recordDelivery(delivered?.position as number, 'one', {
      status: 'delivered',
      nextAttemptAt: null,
      lastStatus: 204,
      lastError: null,
    });
    await store.recordDelivery(gone?.position as number, 'one', {
      status: 'gone',
      nextAttemptAt: null,
      lastStatus: 410,
      lastError: 'answered 410',
    });
    await store.recordDelivery(failed?.position as number, 'one', {
      status: 'failed',
      nextAttemptAt: null,
      lastStatus: 500,
      lastError: 'answered 500',
    });
    expect(await store.countPendingDeliveries()).toBe(3);
    // Past every lease and retry time: only the pending ones come back, the retry among them.
    const again = await store.claimDeliveries({
      now: at(60_000),
      limit: 50,
      owner: 'two',
      leaseUntil: at(75_000),
    });
    expect(again.map((delivery) => delivery.position).sort((a, b) => a - b)).toEqual(
      [retry, ...claimed.slice(4)]
        .map((delivery) => delivery?.position)
        .sort((a, b) => (a as number) - (b as number)),
    );
    const retried = again.find((delivery) => delivery.position === retry?.position);
    expect(retried).toMatchObject({
      attempts: 2,
      lastError: 'timed out after 10 s',
      lastAttemptAt: at(60_000),
    });

    const first = await store.listDeliveries({ limit: 4 });
    expect(first.deliveries).toHaveLength(4);
    const rest = await store.listDeliveries({ limit: 4, after: first.next });
    expect(rest.next).toBeUndefined();
    const walked = [...first.deliveries, ...rest.deliveries].map((delivery) => delivery.position);
    expect(walked).toEqual([...walked].sort((a, b) => b - a));
    expect(walked).toHaveLength(6);
    expect(
      [...first.deliveries, ...rest.deliveries].find((delivery) => delivery.position === gone?.position),
    ).toMatchObject({
      status: 'gone',
      lastStatus: 410,
      nextAttemptAt: null,
    });
  });

  it('finds the tokens a notice is due for, and records each notice once per token and kind, even from two processes at once', async () => {
    const { store, another } = await fresh();
    const soon = tokenRecord('soon', at(3_600_000));
    const later = tokenRecord('later', at(10 * 86_400_000));
    const never = tokenRecord('never', null);
    for (const token of [soon, later, never]) await store.insert(token, uniqueDigest());
    const replaced = tokenRecord('replaced', at(60_000));
    await store.insert(replaced, uniqueDigest());
    await store.write({
      lock: [replaced.id],
      decide: () => ({
        outcome: undefined,
        writes: { replace: { id: replaced.id, expiresAt: at(60_000), replacedBy: soon.id } },
      }),
    });
    const query = { notice: '1d', expiresFrom: T0, expiresBefore: at(86_400_000), limit: 10 };
    expect((await store.findTokensToNotice(query)).map((token) => token.id)).toEqual([soon.id]);

    const notice = () => ({
      tokenId: soon.id,
      notice: '1d',
      event: auditEvent('token.expiring', { time: T0, target: tokenRef(soon), details: { within: '1d' } }),
    });
    const other = await another();
    const [one, two] = await Promise.all([store.recordNotices([notice()]), other.recordNotices([notice()])]);
    expect(one.length + two.length).toBe(1);
    expect(await store.recordNotices([notice()])).toEqual([]);
    expect(await store.findTokensToNotice(query)).toEqual([]);
    // Another kind of notice is another notice.
    expect(await store.findTokensToNotice({ ...query, notice: '7d' })).toHaveLength(1);
    const events = (await store.listAuditEvents({ limit: 10, type: 'token.expiring' })).events;
    expect(events).toHaveLength(1);
    expect(
      (await store.listDeliveries({ limit: 10 })).deliveries.map((delivery) => delivery.eventId),
    ).toEqual([events[0]?.id, events[0]?.id]);
  });

  it('purges finished deliveries with the audit events past the audit retention, never a pending one', async () => {
    const { store } = await fresh();
    for (let index = 0; index < 2; index++) {
      const token = tokenRecord('purged');
      await store.insert(token, uniqueDigest(), undefined, created(token));
    }
    const claimed = await store.claimDeliveries({ now: T0, limit: 50, owner: 'one', leaseUntil: at(15_000) });
    for (const delivery of claimed.slice(0, 3))
      await store.recordDelivery(delivery.position, 'one', {
        status: 'delivered',
        nextAttemptAt: null,
        lastStatus: 200,
        lastError: null,
      });
    await store.purgeExpired(at(DAY - 1));
    expect((await store.listDeliveries({ limit: 10 })).deliveries).toHaveLength(4);
    await store.purgeExpired(at(DAY + 1));
    const left = (await store.listDeliveries({ limit: 10 })).deliveries;
    expect(left.map((delivery) => delivery.status)).toEqual(['pending']);
    expect(left[0]?.position).toBe(claimed[3]?.position);
  });

  it('stops a URL answered 410 Gone, in every process: its other deliveries, in flight or later, are gone and never claimed again', async () => {
    const { store, another } = await fresh();
    const [goneUrl, liveUrl] = URLS;
    for (let index = 0; index < 2; index++) {
      const token = tokenRecord('stopped');
      await store.insert(token, uniqueDigest(), undefined, created(token));
    }
    const claimed = await store.claimDeliveries({ now: T0, limit: 50, owner: 'one', leaseUntil: at(15_000) });
    expect(claimed).toHaveLength(4);
    const [answered, inFlight] = claimed.filter((delivery) => delivery.url === goneUrl);
    const stop = { status: 'gone' as const, nextAttemptAt: null, lastStatus: 410, lastError: 'answered 410' };
    expect(await store.recordDelivery(answered?.position as number, 'one', { ...stop, stopsUrl: true })).toBe(
      true,
    );
    // The other delivery to that URL, still in flight, is gone: what its attempt comes to is not recorded.
    const retry = {
      status: 'pending' as const,
      nextAttemptAt: T0,
      lastStatus: 503,
      lastError: 'answered 503',
    };
    expect(await store.recordDelivery(inFlight?.position as number, 'one', retry)).toBe(false);
    for (const delivery of claimed.filter((one) => one.url === liveUrl))
      expect(await store.recordDelivery(delivery.position, 'one', retry)).toBe(true);

    // A later event to the gone URL: written, never claimed, by this process or another, marked gone.
    const later = tokenRecord('later');
    await store.insert(later, uniqueDigest(), undefined, created(later));
    const other = await another();
    const again = await other.claimDeliveries({
      now: at(1000),
      limit: 50,
      owner: 'two',
      leaseUntil: at(16_000),
    });
    expect(again.map((delivery) => delivery.url)).toEqual([liveUrl, liveUrl, liveUrl]);
    expect(await store.countPendingDeliveries()).toBe(3);
    const toGone = (await store.listDeliveries({ limit: 50 })).deliveries.filter(
      (delivery) => delivery.url === goneUrl,
    );
    expect(toGone).toHaveLength(3);
    expect(toGone.every((delivery) => delivery.status === 'gone' && delivery.nextAttemptAt === null)).toBe(
      true,
    );
    expect(toGone.find((delivery) => delivery.position === answered?.position)).toMatchObject({
      lastStatus: 410,
      attempts: 1,
    });
    expect(
      toGone.find((delivery) => delivery.eventId !== answered?.eventId && delivery.attempts === 0),
    ).toBeDefined();
    expect(
      await store.claimDeliveries({ now: at(60_000), limit: 50, owner: 'three', leaseUntil: at(75_000) }),
    ).toHaveLength(3);
  });

  it("purges a token's expiry notices with the token, past the token retention", async () => {
    const { store } = await fresh();
    const expiring = tokenRecord('expiring', at(3_600_000));
    const lasting = tokenRecord('lasting', at(30 * DAY));
    for (const token of [expiring, lasting]) await store.insert(token, uniqueDigest());
    const notice = (token: TokenRecord, kind: string) => ({
      tokenId: token.id,
      notice: kind,
      event: auditEvent('token.expiring', { time: T0, target: tokenRef(token), details: { within: kind } }),
    });
    await store.recordNotices([notice(expiring, '7d'), notice(expiring, '1d'), notice(lasting, '7d')]);
    expect(await noticesStored()).toBe(3);
    // Expired, but still within the retention: kept, notices and all.
    expect(await store.purgeExpired(at(3_600_000 + DAY - 1))).toBe(0);
    expect(await noticesStored()).toBe(3);
    expect(await store.purgeExpired(at(3_600_000 + DAY + 1))).toBe(1);
    expect(await noticesStored()).toBe(1);
  });

  it("removes a token's expiry notices when the token is deleted, and no other token's", async () => {
    const { store } = await fresh();
    const deleted = tokenRecord('deleted', at(3_600_000));
    const kept = tokenRecord('kept', at(3_600_000));
    for (const token of [deleted, kept]) await store.insert(token, uniqueDigest());
    await store.recordNotices(
      [deleted, kept].map((token) => ({
        tokenId: token.id,
        notice: '1d',
        event: auditEvent('token.expiring', { time: T0, target: tokenRef(token), details: { within: '1d' } }),
      })),
    );
    expect(await noticesStored()).toBe(2);
    expect(await store.write(deletion({ id: deleted.id, now: T0 }))).toEqual({ deleted: undefined });
    expect(await noticesStored()).toBe(1);
  });
});
