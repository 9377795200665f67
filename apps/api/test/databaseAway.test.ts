// Every way PostgreSQL can be away answers 503 with Retry-After and changes nothing: each cause made real on a cluster of the test's own.
import pg from 'pg';
import supertest from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '../src/app.js';
import { NO_RATE_LIMITS } from '../src/http/rateLimits.js';
import { createLogger } from '../src/logger.js';
import { PostgresTokenStore } from '../src/store/postgres.js';
import { StoreUnavailableError } from '../src/store/store.js';
import { TokenService } from '../src/tokens/service.js';
import { catalog, spec } from './harness.js';
import { pgSkipped } from './postgres.js';
import { type PrivatePostgres, startPrivatePostgres } from './privatePostgres.js';
import { PROCESS_EVENT_BOUND_MS, PROCESS_TEST_TIMEOUT_MS } from './process.js';

/** Few connections, so that another client can take them all (53300). */
const MAX_CONNECTIONS = 12;

let cluster: PrivatePostgres;
beforeAll(async () => {
  cluster = await startPrivatePostgres({
    settings: { max_connections: MAX_CONNECTIONS, superuser_reserved_connections: 0 },
  });
}, PROCESS_TEST_TIMEOUT_MS);
afterAll(async () => {
  await cluster?.destroy();
});

interface Served {
  database: string;
  app: ReturnType<typeof createApp>;
  store: PostgresTokenStore;
  admin: string;
  /** What the pool told of its idle connections' failures. */
  lost: Error[];
  logLines: string[];
}

const served: Served[] = [];
const clients: pg.Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.end().catch(() => {})));
  for (const { store, logLines } of served.splice(0)) {
    await store.close();
    // A 503 is the environment's, a warning: nothing in these cases is a bug.
    expect(logLines.map((line) => JSON.parse(line)).filter((entry) => entry.level >= 50)).toEqual([]);
  }
});

let databases = 0;

/** The API in this process on a new database of the cluster, bootstrapped. */
async function serve(options: { acquireTimeoutMs?: number } = {}): Promise<Served> {
  const database = `away_${++databases}`;
  await cluster.query(`CREATE DATABASE ${database}`);
  const lost: Error[] = [];
  const store = await PostgresTokenStore.open(cluster.url(database), {
    purgeEveryMs: 0,
    poolSize: 4,
    acquireTimeoutMs: options.acquireTimeoutMs ?? 5000,
    connectTimeoutMs: 5000,
    onBackgroundError: (err) => void lost.push(err),
  });
  const logLines: string[] = [];
  const logger = createLogger('info', { write: (line: string) => void logLines.push(line) });
  const tokens = new TokenService({ store, catalog, clock: () => new Date() });
  const admin = (await tokens.bootstrap())?.generatedSecret as string;
  const app = createApp({
    tokens,
    spec,
    logger,
    validateResponses: true,
    rateLimits: NO_RATE_LIMITS,
    checkReady: () => store.ping(),
  });
  const one = { database, app, store, admin, lost, logLines };
  served.push(one);
  return one;
}

const create = ({ app, admin }: Served, name = 'during') =>
  supertest(app)
    .post('/v2/tokens')
    .set('Authorization', `Bearer ${admin}`)
    .send({ name, orgCapabilities: { apiTokens: ['read'] } });

const readyz = ({ app }: Served) => supertest(app).get('/readyz');

/** A 503 as promised: the usual error shape naming the reason, and Retry-After. */
function expectUnavailable(answer: supertest.Response, reason: RegExp): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(503);
  expect(answer.body).toEqual({ code: 503, message: expect.stringMatching(reason) });
  expect(answer.body.message).toMatch(/token store is unavailable .*nothing was changed, retry later/);
  expect(answer.headers['retry-after']).toMatch(/^\d+$/);
}

/** Rows of the database as they stand: tokens and audit events. */
async function rows(database: string): Promise<{ tokens: number; events: number }> {
  const counted = await cluster.query<{ tokens: number; events: number }>(
    'SELECT (SELECT count(*)::int FROM tokens) AS tokens, (SELECT count(*)::int FROM audit_events) AS events',
    [],
    database,
  );
  return counted.rows[0] as { tokens: number; events: number };
}

/**
 * Ends the API's sessions on its database (57P01 to each) and waits until its pool has heard of
 * every one, so that the next request needs a new connection.
 */
async function endPoolSessions(on: Served): Promise<void> {
  const ended = await cluster.query<{ ended: number }>(
    `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS ended
       FROM pg_stat_activity WHERE datname = $1 AND application_name = 'api-tokens'`,
    [on.database],
  );
  const count = ended.rows[0]?.ended ?? 0;
  await expect.poll(() => on.lost.length, { timeout: PROCESS_EVENT_BOUND_MS }).toBeGreaterThanOrEqual(count);
}

/** A client of the test's own, ended after the case; its failures (the server going away) are expected. */
async function connect(database = 'postgres'): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: cluster.url(database) });
  client.on('error', () => {});
  clients.push(client);
  await client.connect();
  return client;
}

/**
 * Holds the tokens table in SHARE mode, which lets a create lock its issuer (FOR SHARE) and write
 * its audit event but not insert its row, the last thing it does before it commits: a create
 * started now waits there, in the middle of its transaction.
 * Resolves with the waiting session's pid.
 */
async function createWaitingMidTransaction(on: Served) {
  const holder = await connect(on.database);
  await holder.query('BEGIN');
  await holder.query('LOCK TABLE tokens IN SHARE MODE');
  const answer = create(on).then((response) => response);
  let waiting: number | undefined;
  await vi.waitFor(
    async () => {
      const found = await cluster.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity
          WHERE datname = $1 AND application_name = 'api-tokens' AND wait_event_type = 'Lock'`,
        [on.database],
      );
      waiting = found.rows[0]?.pid;
      if (waiting === undefined) throw new Error('timeout: no create waited for the lock');
    },
    { timeout: PROCESS_EVENT_BOUND_MS, interval: 20 },
  );
  const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
  return { answer, waiting: waiting as number, holder, holderPid: holderPid as number };
}

describe.skipIf(pgSkipped)('the database away: 503 with Retry-After, nothing changed', () => {
  it(
    '55000: a database not accepting connections (ALTER DATABASE … ALLOW_CONNECTIONS false, as in maintenance)',
    async () => {
      const api = await serve();
      const before = await rows(api.database);
      await cluster.query(`ALTER DATABASE ${api.database} ALLOW_CONNECTIONS false`);
      await endPoolSessions(api);
      // What the server really answers, so that the classification is of the real thing.
      await expect(connect(api.database)).rejects.toMatchObject({
        code: '55000',
        message: expect.stringMatching(/is not currently accepting connections/),
      });

      expectUnavailable(await create(api), /the database is not accepting connections/);
      expectUnavailable(await readyz(api), /not accepting connections/);

      await cluster.query(`ALTER DATABASE ${api.database} ALLOW_CONNECTIONS true`);
      expect(await rows(api.database)).toEqual(before);
      expect((await readyz(api)).status).toBe(200);
      expect((await create(api, 'after')).status).toBe(200);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    '53300: too many connections, every slot taken by another client',
    async () => {
      const api = await serve();
      const before = await rows(api.database);
      await endPoolSessions(api);
      let refusal: unknown;
      for (let held = 0; held <= MAX_CONNECTIONS && refusal === undefined; held++) {
        await connect().catch((err: unknown) => {
          refusal = err;
        });
      }
      expect(refusal).toMatchObject({ code: '53300' });

      expectUnavailable(await create(api), /the database has no free connections/);
      expectUnavailable(await readyz(api), /no free connections/);

      await Promise.all(clients.splice(0).map((client) => client.end().catch(() => {})));
      expect(await rows(api.database)).toEqual(before);
      expect((await readyz(api)).status).toBe(200);
      expect((await create(api, 'after')).status).toBe(200);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    '57P01: the session ended by the server (pg_terminate_backend, a fast shutdown) in the middle of a create',
    async () => {
      const api = await serve();
      const before = await rows(api.database);
      const { answer, waiting, holder } = await createWaitingMidTransaction(api);
      await cluster.query('SELECT pg_terminate_backend($1)', [waiting]);
      expectUnavailable(await answer, /the database is restarting/);
      await holder.query('ROLLBACK');
      // Neither the token nor its audit event, written before the wait, was committed.
      expect(await rows(api.database)).toEqual(before);
      expect((await create(api, 'after')).status).toBe(200);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    '57P02: another server process crashed in the middle of a create, and the server recovers',
    async () => {
      const api = await serve();
      const before = await rows(api.database);
      const { answer, holderPid } = await createWaitingMidTransaction(api);
      // What a crash of a backend does to every other session: the postmaster ends them all
      // (telling each 57P02) and recovers from its log.
      process.kill(holderPid, 'SIGKILL');
      const crashed = await answer;
      expectUnavailable(crashed, /the database is restarting|cannot reach the database/);
      // During recovery (57P03 "in recovery mode") and after: only 503, then 200.
      const statuses: number[] = [];
      await vi.waitFor(
        async () => {
          const ready = await readyz(api);
          statuses.push(ready.status);
          if (ready.status !== 200) throw new Error('timeout: the database did not recover');
        },
        { timeout: PROCESS_EVENT_BOUND_MS, interval: 50 },
      );
      expect(statuses.slice(0, -1).filter((status) => status !== 503)).toEqual([]);
      expect(await rows(api.database)).toEqual(before);
      expect((await create(api, 'after')).status).toBe(200);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    '57P03: the server shutting down (a smart shutdown waiting for another client) refuses new connections',
    async () => {
      const api = await serve();
      const before = await rows(api.database);
      await endPoolSessions(api);
      const lingering = await connect(); // keeps the smart shutdown from completing
      await cluster.stop('smart', { wait: false });
      await expect
        .poll(async () => (await readyz(api)).status, { timeout: PROCESS_EVENT_BOUND_MS })
        .toBe(503);
      await expect(connect(api.database)).rejects.toMatchObject({ code: '57P03' });

      expectUnavailable(await create(api), /the database is restarting/);
      expectUnavailable(await readyz(api), /the database is restarting/);

      await lingering.end();
      await expect.poll(() => cluster.postmasterPid(), { timeout: PROCESS_EVENT_BOUND_MS }).toBeUndefined();
      await cluster.start();
      expect(await rows(api.database)).toEqual(before);
      expect((await readyz(api)).status).toBe(200);
      expect((await create(api, 'after')).status).toBe(200);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    '3D000: the database dropped under the running service',
    async () => {
      const api = await serve();
      const sessions = await cluster.query<{ count: number }>(
        // The pool's sessions: the LISTEN connection's loss is the revocation feed's, not an outage.
        `SELECT count(*)::int AS count FROM pg_stat_activity WHERE datname = $1 AND application_name = 'api-tokens'`,
        [api.database],
      );
      await cluster.query(`DROP DATABASE ${api.database} WITH (FORCE)`);
      await expect
        .poll(() => api.lost.length, { timeout: PROCESS_EVENT_BOUND_MS })
        .toBeGreaterThanOrEqual(sessions.rows[0]?.count ?? 0);
      await expect(connect(api.database)).rejects.toMatchObject({ code: '3D000' });

      expectUnavailable(await create(api), /the database does not exist/);
      expectUnavailable(await readyz(api), /the database does not exist/);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    '3D000 at start-up: a database that does not exist is refused at once, as a mistake in DATABASE_URL, not waited for',
    async () => {
      // Were it waited for as an outage, this would outlast the case's timeout.
      await expect(
        PostgresTokenStore.open(cluster.url('never_created'), { connectTimeoutMs: 10 * 60_000 }),
      ).rejects.toThrow(/database "never_created" does not exist/);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'a connect timeout: the server accepts the connection but never answers',
    async () => {
      const api = await serve({ acquireTimeoutMs: 1000 });
      const before = await rows(api.database);
      await endPoolSessions(api);
      const postmaster = cluster.postmasterPid() as number;
      // Stopped, the postmaster leaves new connections in the kernel's backlog, unanswered.
      process.kill(postmaster, 'SIGSTOP');
      try {
        expectUnavailable(await create(api), /cannot reach the database/);
        expectUnavailable(await readyz(api), /cannot reach the database/);
      } finally {
        process.kill(postmaster, 'SIGCONT');
      }
      expect(await rows(api.database)).toEqual(before);
      expect((await readyz(api)).status).toBe(200);
      expect((await create(api, 'after')).status).toBe(200);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'tells a pooled connection the server ended as the store unavailable, with the cause, not as failed work',
    async () => {
      const api = await serve();
      await endPoolSessions(api);
      expect(api.lost.length).toBeGreaterThan(0);
      for (const err of api.lost) {
        expect(err).toBeInstanceOf(StoreUnavailableError);
        expect(err.cause).toMatchObject({ code: '57P01' });
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
