// The PostgreSQL store's own: migrations under concurrent start-up, durable commits, and faults of the connection.
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { catalog, manualClock } from '../../test/harness.js';
import {
  createTestDatabase,
  pgSkipped,
  pgTestUrl,
  resetTestDatabase,
  type TestDatabase,
} from '../../test/postgres.js';
import { tokenRecord, uniqueDigest } from '../../test/records.js';
import { startTcpProxy, type TcpProxy } from '../../test/tcpProxy.js';
import { deletion } from '../tokens/deletion.js';
import { TokenService } from '../tokens/service.js';
import { PostgresTokenStore } from './postgres.js';
import { postgresMigrations } from './postgresMigrations.js';
import { StoreUnavailableError } from './store.js';

describe.skipIf(pgSkipped)('PostgresTokenStore', () => {
  let database: TestDatabase;
  const opened: PostgresTokenStore[] = [];
  const proxies: TcpProxy[] = [];
  const databases: TestDatabase[] = [];
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  });
  afterAll(async () => {
    await Promise.all([database, ...databases.splice(0)].map((each) => each?.drop()));
  });

  const open = async (url: string, options: Parameters<typeof PostgresTokenStore.open>[1] = {}) => {
    const store = await PostgresTokenStore.open(url, { purgeEveryMs: 0, ...options });
    opened.push(store);
    return store;
  };

  /** A new database of this case's own, for what must start from nothing. */
  const newDatabase = async () => {
    const created = await createTestDatabase();
    databases.push(created);
    return created;
  };

  /** The test database reached through a proxy the case can cut. */
  async function throughProxy() {
    const target = new URL(pgTestUrl);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    proxies.push(proxy);
    const url = new URL(database.url);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    return { proxy, url: url.toString() };
  }

  const query = async (url: string, text: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(text)).rows;
    } finally {
      await client.end();
    }
  };

  describe('migrations', () => {
    it('migrates a new database once when several replicas open it together', async () => {
      const fresh = await newDatabase();
      const stores = await Promise.all(Array.from({ length: 4 }, () => open(fresh.url)));
      const applied = stores.map((store) => store.migrationsApplied);
      expect(applied.reduce((sum, n) => sum + n, 0)).toBe(postgresMigrations.length);
      expect(applied.filter((n) => n > 0)).toHaveLength(1);
      expect(await query(fresh.url, 'SELECT version FROM schema_version')).toEqual([
        { version: postgresMigrations.length },
      ]);
      const again = await open(fresh.url);
      expect(again.migrationsApplied).toBe(0);
    });

    it('refuses a database written by a newer version of the server, at once and without retrying', async () => {
      const fresh = await newDatabase();
      await (await open(fresh.url)).close();
      await query(fresh.url, `UPDATE schema_version SET version = ${postgresMigrations.length + 1}`);
      await expect(PostgresTokenStore.open(fresh.url, { connectTimeoutMs: 60_000 })).rejects.toThrow(
        `database schema version ${postgresMigrations.length + 1} is newer than this server knows (${postgresMigrations.length})`,
      );
    });
  });

  describe('the identity column that replaced the list position counter', () => {
    it('keeps every existing token in its place, and lists new ones after the highest position ever handed out', async () => {
      const fresh = await newDatabase();
      // The schema before the counter was dropped, with rows the counter numbered (5 was deleted).
      await query(
        fresh.url,
        `CREATE TABLE schema_version (only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row), version integer NOT NULL);
         ${postgresMigrations[0]};
         ${postgresMigrations[1]};
         INSERT INTO schema_version (version) VALUES (2)`,
      );
      const existing = [tokenRecord('third'), tokenRecord('first'), tokenRecord('second')];
      const positions = [4, 1, 2];
      for (const [index, token] of existing.entries()) {
        const client = new pg.Client({ connectionString: fresh.url });
        await client.connect();
        await client.query(
          `INSERT INTO tokens (position, id, name, description, expires_at, created_at, dataset_capabilities,
                               org_capabilities, view_capabilities, secret_digest)
           VALUES ($1, $2, $3, '', NULL, now(), '{}', '{}', '{}', $4)`,
          [positions[index], token.id, token.name, uniqueDigest()],
        );
        await client.end();
      }
      await query(fresh.url, 'UPDATE list_position SET last = 5');
      const store = await open(fresh.url);
      expect(store.migrationsApplied).toBe(postgresMigrations.length - 2);
      expect(
        await query(fresh.url, "SELECT to_regclass('list_position') IS NULL AS gone"),
        'the counter table is dropped',
      ).toEqual([{ gone: true }]);
      const added = tokenRecord('added');
      await store.insert(added, uniqueDigest());
      const page = await store.list({ now: new Date(), limit: 10 });
      expect(page.tokens.map((listed) => [listed.token.name, listed.position])).toEqual([
        ['first', 1],
        ['second', 2],
        ['third', 4],
        ['added', 6],
      ]);
    });

    it('inserts from several stores at once without waiting on one another: no counter row to lock', async () => {
      const fresh = await newDatabase();
      const [first, second] = [await open(fresh.url), await open(fresh.url)];
      // An insert left open in one transaction does not hold up another store's insert.
      const client = new pg.Client({ connectionString: fresh.url });
      await client.connect();
      try {
        await client.query('BEGIN');
        await client.query(
          `INSERT INTO tokens (id, name, description, expires_at, created_at, dataset_capabilities,
                               org_capabilities, view_capabilities, secret_digest)
           VALUES ('00000000-0000-4000-8000-000000000001', 'open', '', NULL, now(), '{}', '{}', '{}', $1)`,
          [uniqueDigest()],
        );
        const token = tokenRecord('concurrent');
        expect(await second.insert(token, uniqueDigest())).toBe('inserted');
        expect(await first.count()).toBe(1);
        await client.query('COMMIT');
        expect(await first.count()).toBe(2);
      } finally {
        await client.end();
      }
    });
  });

  it('group commit: inserts that arrive while a commit is in flight are written together in the next one', async () => {
    const fresh = await newDatabase();
    const store = await open(fresh.url);
    const issuer = tokenRecord('issuer');
    await store.insert(issuer, uniqueDigest());
    // Another session holds the issuer's row, so the first insert's FOR SHARE check waits on it.
    const holder = new pg.Client({ connectionString: fresh.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM tokens WHERE id = $1 FOR UPDATE', [issuer.id]);
      const first = store.insert(tokenRecord('first'), uniqueDigest(), {
        lock: issuer.id,
        refuse: () => undefined,
      });
      await expect
        .poll(
          async () =>
            (
              await holder.query(
                "SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
              )
            ).rows[0].waiting,
          { timeout: 10_000, interval: 20 },
        )
        .toBe(1);
      // Three more, each in a turn of the event loop of its own, while the first commit waits.
      const later: Promise<unknown>[] = [];
      for (const name of ['second', 'third', 'fourth']) {
        later.push(store.insert(tokenRecord(name), uniqueDigest()));
        await new Promise((resolve) => setImmediate(resolve));
      }
      await holder.query('COMMIT');
      expect(await Promise.all([first, ...later])).toEqual(['inserted', 'inserted', 'inserted', 'inserted']);
    } finally {
      await holder.end();
    }
    // Rows written by one transaction share its id (xmin).
    const rows = await query(fresh.url, "SELECT name, xmin::text AS tx FROM tokens WHERE name <> 'issuer'");
    const tx = Object.fromEntries(rows.map((row) => [row.name, row.tx]));
    expect(new Set([tx.second, tx.third, tx.fourth]).size, 'the three queued inserts share one commit').toBe(
      1,
    );
    expect(tx.second, 'and it is not the first insert’s').not.toBe(tx.first);
  });

  it('commits synchronously even where the database default says otherwise', async () => {
    const fresh = await newDatabase();
    await query(pgTestUrl, `ALTER DATABASE ${fresh.name} SET synchronous_commit = off`);
    const store = await open(fresh.url);
    const shown = await store.pool.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
    expect(shown.rows[0]?.synchronous_commit).toBe('on');
  });

  it('stores no secret: only its digest is in any table', async () => {
    await resetTestDatabase(database.url);
    const store = await open(database.url);
    const tokens = new TokenService({ store, catalog, clock: manualClock() });
    const admin = (await tokens.bootstrap())?.generatedSecret as string;
    const caller = await tokens.authenticate(admin);
    const secrets = [admin];
    for (let i = 0; i < 5; i++)
      secrets.push(
        (await tokens.createToken(caller as NonNullable<typeof caller>, { name: `t${i}`, expiresAt: null }))
          .secret,
      );
    const tables = await query(
      database.url,
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
    );
    let contents = '';
    for (const { table_name: table } of tables) {
      contents += JSON.stringify(await query(database.url, `SELECT * FROM ${table}`));
      contents += JSON.stringify(
        await query(database.url, `SELECT encode(t::text::bytea, 'escape') FROM ${table} t`),
      );
    }
    expect(contents).toContain(caller?.id); // the dump holds the tokens
    for (const secret of secrets) {
      expect(contents).not.toContain(secret);
      expect(contents).not.toContain(secret.slice(5)); // nor the random part on its own
    }
  });

  describe('when the database becomes unreachable', () => {
    it('answers StoreUnavailableError and changes nothing, then recovers by itself when it is back', async () => {
      await resetTestDatabase(database.url);
      const { proxy, url } = await throughProxy();
      const failures: Error[] = [];
      const store = await open(url, { onBackgroundError: (err) => void failures.push(err) });
      const kept = tokenRecord('before');
      const keptDigest = uniqueDigest();
      expect(await store.insert(kept, keptDigest)).toBe('inserted');

      proxy.cut();
      const attempts = [
        store.insert(tokenRecord('during'), uniqueDigest()),
        store.findByDigest(keptDigest),
        store.list({ now: new Date(), limit: 10 }),
        store.write(deletion({ id: kept.id, now: new Date() })),
        store.ping(),
      ];
      for (const attempt of await Promise.allSettled(attempts)) {
        expect(attempt.status).toBe('rejected');
        const reason = (attempt as PromiseRejectedResult).reason;
        expect(reason).toBeInstanceOf(StoreUnavailableError);
        expect(reason.message).toMatch(/^token store unavailable: /);
      }
      // Read past the proxy: nothing changed.
      const direct = await open(database.url);
      expect(await direct.count()).toBe(1);

      proxy.restore();
      await expect(store.ping()).resolves.toBeUndefined();
      expect(await store.insert(tokenRecord('after'), uniqueDigest())).toBe('inserted');
      expect(await store.findByDigest(keptDigest)).toStrictEqual(kept);
      expect(await direct.count()).toBe(2);
    });

    it('survives idle connections breaking, telling onBackgroundError the store is unavailable, and makes new ones', async () => {
      const { proxy, url } = await throughProxy();
      const failures: Error[] = [];
      const store = await open(url, { onBackgroundError: (err) => void failures.push(err) });
      await Promise.all(Array.from({ length: 4 }, () => store.ping())); // several idle connections
      proxy.cut();
      await expect.poll(() => failures.length, { timeout: 10_000 }).toBeGreaterThan(0);
      // An outage, with what broke attached, not failed work.
      expect(failures[0]).toBeInstanceOf(StoreUnavailableError);
      expect((failures[0] as StoreUnavailableError).reason).toBe('cannot reach the database');
      expect(failures[0]?.cause).toBeInstanceOf(Error);
      proxy.restore();
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('keeps trying at start-up until the database answers, within the connect timeout', async () => {
      const { proxy, url } = await throughProxy();
      proxy.cut();
      const opening = open(url, { connectTimeoutMs: 60_000 });
      let settled = false;
      void opening.finally(() => {
        settled = true;
      });
      // Refused, and tried again: still opening.
      await expect.poll(() => proxy.refused(), { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
      expect(settled).toBe(false);
      proxy.restore();
      const store = await opening;
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
});
