// `npm run bench`: the real server against a bare Express echo and against the floor (bench/floor-server.mjs),
// A/B/A/B in one run, and against a 1,000,000-token store; verify (POST /v2/tokens/verify) beside the
// authenticated read. `-- --store=postgres`: create and read on PostgreSQL instead (bench/postgres.mjs).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import {
  ADMIN,
  args,
  createBody,
  createToken,
  fmt,
  mean,
  measure as measureWith,
  root,
  rssKiB,
  serverEnv,
  startProcess,
  stop,
} from './lib.mjs';

const DURATION = Number(args.duration ?? 8); // seconds per measurement
const ROUNDS = Number(args.rounds ?? 3); // A/B alternations
const CONNECTIONS = Number(args.connections ?? 16);
const STORED = Number(args.stored ?? 1_000_000);

const TARGETS = {
  createRatio: 0.55, // create ≥ 0.55× the floor's requests/s (the floor has no durable commit)
  readRatio: 0.75, // authenticated read ≥ 0.75× the floor's
  p99Ratio: 2, // p99 latency ≤ 2× the bare echo's
  storedTolerance: 0.1, // with 1M tokens: within 10% of an empty store
  peakRssMiB: 200,
  rssGrowth: 0.1, // RSS after the last round within 10% of after the first
};

/**
 * Each run creates tokens in the 1M store too; they are removed before the next, so every run
 * measures the same store: the bootstrap admin and the STORED seeded tokens, the first by seq.
 */
function trimToSeeded(path) {
  const db = new Database(path);
  const removed = db
    .prepare('DELETE FROM tokens WHERE seq > (SELECT seq FROM tokens ORDER BY seq LIMIT 1 OFFSET ?)')
    .run(STORED).changes;
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  if (removed > 0) console.log(`removed ${fmt(removed)} tokens a previous run created in the 1M store`);
}

const measure = (server, request, duration = DURATION) =>
  measureWith(server, request, { duration, connections: CONNECTIONS });

function summarize(samples) {
  return {
    rps: mean(samples.map((sample) => sample.rps)),
    p50: mean(samples.map((sample) => sample.p50)),
    p99: mean(samples.map((sample) => sample.p99)),
    errors: samples.reduce((sum, sample) => sum + sample.errors, 0),
  };
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'api-tokens-bench-'));
  console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}`);
  console.log(`settings: ${CONNECTIONS} connections, ${DURATION} s per measurement, ${ROUNDS} A/B rounds\n`);

  // The 1M-token store is seeded once through the store itself and kept for later runs.
  const storedPath = join(root, 'bench', '.data', `tokens-${STORED}.db`);
  if (!existsSync(storedPath)) {
    mkdirSync(dirname(storedPath), { recursive: true });
    console.log(`seeding ${fmt(STORED)} tokens into ${storedPath} (once; reused by later runs)…`);
    await new Promise((resolve, reject) => {
      const seeding = spawn(
        process.execPath,
        [join(root, 'bench', 'seed.mjs'), storedPath, String(STORED), ADMIN],
        {
          stdio: 'inherit',
        },
      );
      seeding.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`seeding failed: ${code}`))));
    });
  }

  trimToSeeded(storedPath);
  const echo = await startProcess('echo', join(root, 'bench', 'echo-server.mjs'), {});
  const floor = await startProcess('floor', join(root, 'bench', 'floor-server.mjs'), {});
  const empty = await startProcess(
    'api',
    join(root, 'apps', 'api', 'dist', 'index.js'),
    serverEnv(join(work, 'empty.db')),
  );
  const stored = await startProcess(
    'api-1M',
    join(root, 'apps', 'api', 'dist', 'index.js'),
    serverEnv(storedPath),
  );

  const readerBody = { name: 'reader', orgCapabilities: { apiTokens: ['read'] } };
  const reader = await createToken(empty.url, readerBody);
  const floorReader = await createToken(floor.url, readerBody);
  const storedReader = await createToken(stored.url, readerBody);
  // What a receiving service asks: may this shipper ingest into logs-prod? (VALID)
  const shipper = await createToken(empty.url, JSON.parse(createBody));
  const storedShipper = await createToken(stored.url, JSON.parse(createBody));
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
  const verify = (caller, verified) => ({
    method: 'POST',
    path: '/v2/tokens/verify',
    headers: { authorization: `Bearer ${caller.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      token: verified.token,
      require: { datasetCapabilities: { 'logs-prod': { ingest: ['create'] } } },
    }),
  });
  const echoVerify = verify(reader, shipper);
  const echoRead = {
    method: 'GET',
    path: `/v2/tokens/${reader.id}`,
    headers: { authorization: `Bearer ${reader.token}` },
  };

  // Warm-up: JIT, caches, connection pools; not counted.
  for (const [server, request] of [
    [echo, create],
    [floor, create],
    [empty, create],
    [stored, create],
    [echo, echoRead],
    [floor, read(floorReader)],
    [empty, read(reader)],
    [stored, read(storedReader)],
    [echo, echoVerify],
    [empty, verify(reader, shipper)],
    [stored, verify(storedReader, storedShipper)],
  ]) {
    await measure(server, request, 2);
  }

  const samples = {
    echoCreate: [],
    floorCreate: [],
    create: [],
    storedCreate: [],
    echoRead: [],
    floorRead: [],
    read: [],
    storedRead: [],
    echoVerify: [],
    verify: [],
    storedVerify: [],
  };
  const rssAfterRound = [];
  for (let round = 1; round <= ROUNDS; round++) {
    samples.echoCreate.push(await measure(echo, create));
    samples.floorCreate.push(await measure(floor, create));
    samples.create.push(await measure(empty, create));
    samples.storedCreate.push(await measure(stored, create));
    samples.echoRead.push(await measure(echo, echoRead));
    samples.floorRead.push(await measure(floor, read(floorReader)));
    samples.read.push(await measure(empty, read(reader)));
    samples.storedRead.push(await measure(stored, read(storedReader)));
    samples.echoVerify.push(await measure(echo, echoVerify));
    samples.verify.push(await measure(empty, verify(reader, shipper)));
    samples.storedVerify.push(await measure(stored, verify(storedReader, storedShipper)));
    rssAfterRound.push(rssKiB(empty.child.pid));
    console.log(`round ${round}/${ROUNDS} done`);
  }
  const peakRssMiB = Math.max(rssKiB(empty.child.pid, 'VmHWM'), empty.peakRssKiB) / 1024;
  const storedPeakRssMiB = Math.max(rssKiB(stored.child.pid, 'VmHWM'), stored.peakRssKiB) / 1024;
  for (const server of [echo, floor, empty, stored]) await stop(server);
  rmSync(work, { recursive: true, force: true });

  const s = Object.fromEntries(Object.entries(samples).map(([key, value]) => [key, summarize(value)]));
  const rows = [
    ['echo POST /v2/tokens', s.echoCreate, s.echoCreate, s.floorCreate],
    ['floor POST /v2/tokens', s.floorCreate, s.echoCreate, s.floorCreate],
    ['api POST /v2/tokens (create)', s.create, s.echoCreate, s.floorCreate],
    ['api POST /v2/tokens, 1M tokens stored', s.storedCreate, s.echoCreate, s.floorCreate],
    ['echo GET /v2/tokens/{id}', s.echoRead, s.echoRead, s.floorRead],
    ['floor GET /v2/tokens/{id}', s.floorRead, s.echoRead, s.floorRead],
    ['api GET /v2/tokens/{id} (authenticated read)', s.read, s.echoRead, s.floorRead],
    ['api GET /v2/tokens/{id}, 1M tokens stored', s.storedRead, s.echoRead, s.floorRead],
    // The floor has no verify route: its column is left empty for these rows.
    ['echo POST /v2/tokens/verify', s.echoVerify, s.echoVerify, undefined],
    ['api POST /v2/tokens/verify (VALID)', s.verify, s.echoVerify, undefined],
    ['api POST /v2/tokens/verify, 1M tokens stored', s.storedVerify, s.echoVerify, undefined],
  ];
  console.log(
    '\n| endpoint | requests/s | p50 ms | p99 ms | errors | req/s vs echo | req/s vs floor | p99 vs echo |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const [label, result, echoed, floored] of rows) {
    console.log(
      `| ${label} | ${fmt(result.rps)} | ${fmt(result.p50, 2)} | ${fmt(result.p99, 2)} | ${result.errors} | ` +
        `${fmt(result.rps / echoed.rps, 2)}× | ${floored === undefined ? '—' : `${fmt(result.rps / floored.rps, 2)}×`} | ` +
        `${fmt(result.p99 / Math.max(echoed.p99, 1), 2)}× |`,
    );
  }
  console.log(
    `\nverify beside the authenticated read: ${fmt(s.verify.rps / s.read.rps, 2)}× its requests/s, ` +
      `${fmt(s.verify.p99 / Math.max(s.read.p99, 1), 2)}× its p99 (1M store: ${fmt(s.storedVerify.rps / s.storedRead.rps, 2)}×, ` +
      `${fmt(s.storedVerify.p99 / Math.max(s.storedRead.p99, 1), 2)}×)`,
  );
  const growth = (rssAfterRound.at(-1) - rssAfterRound[0]) / rssAfterRound[0];
  console.log(
    `\npeak RSS: ${fmt(peakRssMiB, 1)} MiB (empty store), ${fmt(storedPeakRssMiB, 1)} MiB (1M store); ` +
      `RSS after each round: ${rssAfterRound.map((kib) => `${fmt(kib / 1024, 1)} MiB`).join(', ')}`,
  );

  const checks = [
    ['create ≥ 0.55× floor req/s', s.create.rps / s.floorCreate.rps >= TARGETS.createRatio],
    ['authenticated read ≥ 0.75× floor req/s', s.read.rps / s.floorRead.rps >= TARGETS.readRatio],
    ['create p99 ≤ 2× echo p99', s.create.p99 <= TARGETS.p99Ratio * Math.max(s.echoCreate.p99, 1)],
    ['read p99 ≤ 2× echo p99', s.read.p99 <= TARGETS.p99Ratio * Math.max(s.echoRead.p99, 1)],
    [
      '1M store: create within 10% of empty',
      s.storedCreate.rps >= (1 - TARGETS.storedTolerance) * s.create.rps,
    ],
    ['1M store: read within 10% of empty', s.storedRead.rps >= (1 - TARGETS.storedTolerance) * s.read.rps],
    ['peak RSS < 200 MiB', Math.max(peakRssMiB, storedPeakRssMiB) < TARGETS.peakRssMiB],
    ['no RSS growth across rounds (< 10%)', growth < TARGETS.rssGrowth],
    ['no errors', Object.values(s).every((result) => result.errors === 0)],
  ];
  console.log('\ntargets:');
  for (const [label, met] of checks) console.log(`  ${met ? 'met   ' : 'MISSED'} ${label}`);
  const missed = checks.filter(([, met]) => !met).length;
  console.log(missed === 0 ? '\nall targets met' : `\n${missed} target(s) missed`);
  process.exitCode = missed === 0 ? 0 : 1;
}

// --store=postgres: the same loads on PostgreSQL, one replica and two (bench/postgres.mjs).
if (args.store === 'postgres') await import('./postgres.mjs');
else if (args.store === undefined || args.store === 'sqlite') await main();
else throw new Error(`--store=${args.store}: expected sqlite (the default) or postgres`);
