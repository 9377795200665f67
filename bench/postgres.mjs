// `npm run bench -- --store=postgres`: the real server on PostgreSQL, create and authenticated read, one
// replica and two on one database, on an empty store and on a 1,000,000-token one. Its helpers also
// serve bench/run.mjs, which measures PostgreSQL beside SQLite, and bench/propagation.mjs.
//
// The server is --pg=<url>'s (default PG_TEST_URL's, else postgres://postgres@127.0.0.1:5432/postgres);
// the bench makes its own databases there: api_tokens_bench_empty (new each run) and
// api_tokens_bench_<N> (seeded once through the store, kept for later runs, trimmed back to its seeded
// tokens before each). Two replicas are measured with two autocannon instances side by side, each
// with half the connections, as a round-robin load balancer would split them.
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  ADMIN,
  args,
  createBody,
  createToken,
  fmt,
  mean,
  measure as measureWith,
  root,
  startProcess,
  stop,
} from './lib.mjs';

const DURATION = Number(args.duration ?? 8);
const ROUNDS = Number(args.rounds ?? 3);
const CONNECTIONS = Number(args.connections ?? 16);
const STORED = Number(args.stored ?? 1_000_000);
const SERVER_URL = args.pg || process.env.PG_TEST_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

export const databaseUrl = (name) => {
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return url.toString();
};

export async function onServer(run) {
  const client = new pg.Client({ connectionString: SERVER_URL });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

async function onDatabase(name, run) {
  const client = new pg.Client({ connectionString: databaseUrl(name) });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

const exists = (name) =>
  onServer(
    async (client) =>
      (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount > 0,
  );

/** Removes the tokens earlier runs created in the seeded database: every run measures the same store. */
async function trimToSeeded(name) {
  const removed = await onDatabase(name, async (client) => {
    const deleted = await client.query(
      'DELETE FROM tokens WHERE position > (SELECT position FROM tokens ORDER BY position OFFSET $1 LIMIT 1)',
      [STORED],
    );
    await client.query('VACUUM ANALYZE tokens');
    return deleted.rowCount;
  });
  if (removed > 0) console.log(`removed ${fmt(removed)} tokens a previous run created in the seeded store`);
}

export const serverEnv = (name) => ({
  NODE_ENV: 'production',
  LOG_LEVEL: 'info',
  DATABASE_URL: databaseUrl(name),
  BOOTSTRAP_TOKEN: ADMIN,
  RATE_LIMIT_FAILED_AUTH_PER_MIN: '0',
  RATE_LIMIT_PER_TOKEN_PER_SEC: '0',
});

/** The server's PostgreSQL version, for the run's header. */
export const serverVersion = () =>
  onServer(async (client) => (await client.query('SHOW server_version')).rows[0].server_version);

/** A new, empty database of that name (dropped first if an earlier run left it). */
export async function createEmptyDatabase(name) {
  await dropDatabase(name);
  await onServer((client) => client.query(`CREATE DATABASE ${name}`));
}

export const dropDatabase = (name) =>
  onServer((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));

const api = join(root, 'apps', 'api', 'dist', 'index.js');

/** One measurement across `servers`, the connections split evenly; requests/s summed, latencies the worst. */
export async function measureAcross(servers, request, { duration, connections }) {
  const results = await Promise.all(
    servers.map((server) =>
      measureWith(server, request, { duration, connections: Math.max(1, connections / servers.length) }),
    ),
  );
  return {
    rps: results.reduce((sum, result) => sum + result.rps, 0),
    p50: Math.max(...results.map((result) => result.p50)),
    p99: Math.max(...results.map((result) => result.p99)),
    errors: results.reduce((sum, result) => sum + result.errors, 0),
    // The replicas' CPU time and preemptions per request, weighted by the requests each answered.
    cpuMicrosPerRequest: weighted(results, 'cpuMicrosPerRequest'),
    preemptionsPerRequest: weighted(results, 'preemptionsPerRequest'),
  };
}

const weighted = (results, key) =>
  results.reduce((sum, result) => sum + result[key] * result.rps, 0) /
  Math.max(
    results.reduce((sum, result) => sum + result.rps, 0),
    1,
  );

/**
 * Samples, every 10 ms while `during` runs, what the sessions of database `name` (all but the
 * LISTEN connections) are waiting on, as pg_stat_activity says. Resolves to `during`'s result and
 * the mean number of sessions per sample for each wait (`Lock:…` would be one transaction waiting
 * for another's row or lock; `Client:ClientRead`, an open transaction waiting for its client).
 */
export async function withWaitSampling(name, during) {
  const client = new pg.Client({ connectionString: SERVER_URL });
  await client.connect();
  const waits = new Map();
  let samples = 0;
  let running = true;
  const sampling = (async () => {
    while (running) {
      const found = await client.query(
        `SELECT coalesce(wait_event_type, 'CPU') || ':' || coalesce(wait_event, 'running') AS wait
           FROM pg_stat_activity
          WHERE datname = $1 AND state <> 'idle' AND application_name <> 'api-tokens-listen'`,
        [name],
      );
      samples++;
      for (const { wait } of found.rows) waits.set(wait, (waits.get(wait) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  try {
    return { result: await during(), waits: new Map([...waits].map(([wait, n]) => [wait, n / samples])) };
  } finally {
    running = false;
    await sampling;
    await client.end();
  }
}

const measure = (servers, request, duration = DURATION) =>
  measureAcross(servers, request, { duration, connections: CONNECTIONS });

const summarize = (samples) => ({
  rps: mean(samples.map((sample) => sample.rps)),
  p50: mean(samples.map((sample) => sample.p50)),
  p99: mean(samples.map((sample) => sample.p99)),
  errors: samples.reduce((sum, sample) => sum + sample.errors, 0),
});

/** `npm run bench -- --store=postgres`: the PostgreSQL table on its own, with the seeded store. */
export async function main() {
  const version = await serverVersion();
  console.log(
    `machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}, PostgreSQL ${version}`,
  );
  console.log(`settings: ${CONNECTIONS} connections, ${DURATION} s per measurement, ${ROUNDS} rounds\n`);

  const emptyName = 'api_tokens_bench_empty';
  await createEmptyDatabase(emptyName);
  const storedName = `api_tokens_bench_${STORED}`;
  if (!(await exists(storedName))) {
    await onServer((client) => client.query(`CREATE DATABASE ${storedName}`));
    console.log(`seeding ${fmt(STORED)} tokens into ${storedName} (once; reused by later runs)…`);
    await new Promise((resolve, reject) => {
      const seeding = spawn(
        process.execPath,
        [join(root, 'bench', 'seed.mjs'), databaseUrl(storedName), String(STORED), ADMIN],
        { stdio: 'inherit' },
      );
      seeding.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`seeding failed: ${code}`))));
    });
  }
  await trimToSeeded(storedName);

  const setups = {
    empty1: [await startProcess('api-pg', api, serverEnv(emptyName))],
    empty2: [
      await startProcess('api-pg-a', api, serverEnv(emptyName)),
      await startProcess('api-pg-b', api, serverEnv(emptyName)),
    ],
    stored1: [await startProcess('api-pg-1M', api, serverEnv(storedName))],
    stored2: [
      await startProcess('api-pg-1M-a', api, serverEnv(storedName)),
      await startProcess('api-pg-1M-b', api, serverEnv(storedName)),
    ],
  };
  const readerBody = { name: 'reader', orgCapabilities: { apiTokens: ['read'] } };
  const readers = {
    empty: await createToken(setups.empty1[0].url, readerBody),
    stored: await createToken(setups.stored1[0].url, readerBody),
  };
  const create = {
    method: 'POST',
    path: '/v2/tokens',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: createBody,
  };
  const read = (token) => ({
    method: 'GET',
    path: `/v2/tokens/${token.id}`,
    headers: { authorization: `Bearer ${token.token}` },
  });
  const stored = `${fmt(STORED)} tokens stored`;
  const loads = [
    ['POST /v2/tokens, 1 replica', 'empty1', create],
    ['POST /v2/tokens, 2 replicas', 'empty2', create],
    [`POST /v2/tokens, 1 replica, ${stored}`, 'stored1', create],
    [`POST /v2/tokens, 2 replicas, ${stored}`, 'stored2', create],
    ['GET /v2/tokens/{id}, 1 replica', 'empty1', read(readers.empty)],
    ['GET /v2/tokens/{id}, 2 replicas', 'empty2', read(readers.empty)],
    [`GET /v2/tokens/{id}, 1 replica, ${stored}`, 'stored1', read(readers.stored)],
    [`GET /v2/tokens/{id}, 2 replicas, ${stored}`, 'stored2', read(readers.stored)],
  ];
  // Warm-up: JIT, connection pools, PostgreSQL's buffers; not counted.
  for (const [, setup, request] of loads) await measure(setups[setup], request, 2);
  const samples = loads.map(() => []);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [index, [, setup, request]] of loads.entries())
      samples[index].push(await measure(setups[setup], request));
    console.log(`round ${round}/${ROUNDS} done`);
  }
  for (const servers of Object.values(setups)) for (const server of servers) await stop(server);
  await dropDatabase(emptyName);

  console.log('\n| PostgreSQL | requests/s | p50 ms | p99 ms | errors |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [index, [label]] of loads.entries()) {
    const result = summarize(samples[index]);
    console.log(
      `| ${label} | ${fmt(result.rps)} | ${fmt(result.p50, 2)} | ${fmt(result.p99, 2)} | ${result.errors} |`,
    );
  }
}
