// `npm run bench:metrics`: what Prometheus metrics cost on the hot path, the authenticated read with METRICS on and off.
//
// Two real servers (production settings, empty stores) differ only in METRICS; each is loaded in turn,
// round after round, the order alternating (on/off, off/on, …) so machine drift spreads over both. The
// table is the median of the rounds: requests/s and the server's CPU time per request. Target: the read
// with metrics at least 0.95× the requests/s of the read without (under 5% of read throughput).
// A scrape of /metrics is timed at the end, on the server that was measured with metrics on. First, in
// this process, the observation alone (what the metrics middleware and the authentication counter do
// per request) is timed in a loop: a figure the machine's load disturbs far less than the A/B rounds.

import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { args, createToken, fmt, freePort, measure, root, serverEnv, startProcess, stop } from './lib.mjs';

const DURATION = Number(args.duration ?? 5);
const ROUNDS = Number(args.rounds ?? 6);
const CONNECTIONS = Number(args.connections ?? 16);
const TARGET_RATIO = 0.95;

const median = (values) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)];

/** Microseconds per request of what metrics add to a read: the request observer and the authentication counter. */
async function observationMicros() {
  const dist = join(root, 'apps', 'api', 'dist');
  const { Metrics } = await import(pathToFileURL(join(dist, 'http', 'metrics.js')).href);
  const { loadSpec } = await import(pathToFileURL(join(dist, 'spec.js')).href);
  const metrics = new Metrics();
  const observe = metrics.observeRequests(loadSpec(), ['/healthz']);
  const request = { method: 'GET', originalUrl: '/v2/tokens/5f0c6f39-0c55-4a43-9d3f-3d1f3e6a2b7c' };
  const loop = (count, withMetrics) => {
    const started = performance.now();
    for (let index = 0; index < count; index++) {
      // A response stands in as an emitter: both loops pay for it and one 'finish' listener.
      const response = new EventEmitter();
      response.statusCode = 200;
      if (withMetrics) {
        observe(request, response, () => {});
        metrics.observeAuthentication('success');
      } else response.once('finish', () => {});
      response.emit('finish');
    }
    return ((performance.now() - started) * 1000) / count;
  };
  const rounds = [];
  for (let round = 0; round < 5; round++) rounds.push(loop(200_000, true) - loop(200_000, false));
  return median(rounds);
}

async function main() {
  const observedMicros = await observationMicros();
  const work = mkdtempSync(join(tmpdir(), 'api-tokens-metrics-bench-'));
  const entry = join(root, 'apps', 'api', 'dist', 'index.js');
  // /metrics has a listener of its own (METRICS_PORT), never the API port.
  const metricsPort = await freePort();
  const on = await startProcess('METRICS=on', entry, {
    ...serverEnv(join(work, 'on.db')),
    METRICS: 'on',
    METRICS_PORT: String(metricsPort),
  });
  const off = await startProcess('METRICS=off', entry, {
    ...serverEnv(join(work, 'off.db')),
    METRICS: 'off',
  });
  const servers = [on, off];

  console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}`);
  console.log(`settings: ${CONNECTIONS} connections, ${DURATION} s per measurement, ${ROUNDS} rounds\n`);

  const readerBody = { name: 'reader', orgCapabilities: { apiTokens: ['read'] } };
  const reads = new Map();
  for (const server of servers) {
    const reader = await createToken(server.url, readerBody);
    reads.set(server, {
      method: 'GET',
      path: `/v2/tokens/${reader.id}`,
      headers: { authorization: `Bearer ${reader.token}` },
    });
  }
  const options = { duration: DURATION, connections: CONNECTIONS };

  // Warm-up: JIT, the auth cache, the validator's compiled schemas; not counted.
  for (const server of servers) await measure(server, reads.get(server), { ...options, duration: 2 });

  const samples = new Map(servers.map((server) => [server, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 === 1 ? servers : servers.toReversed();
    for (const server of order) samples.get(server).push(await measure(server, reads.get(server), options));
    console.log(`round ${round}/${ROUNDS} done`);
  }

  const scrapeStarted = performance.now();
  const scrape = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const scrapeMs = performance.now() - scrapeStarted;
  for (const server of servers) await stop(server);
  rmSync(work, { recursive: true, force: true });

  const summary = new Map(
    servers.map((server) => {
      const taken = samples.get(server);
      return [
        server,
        {
          rps: median(taken.map((sample) => sample.rps)),
          p99: median(taken.map((sample) => sample.p99)),
          cpu: median(taken.map((sample) => sample.cpuMicrosPerRequest)),
          errors: taken.reduce((sum, sample) => sum + sample.errors, 0),
        },
      ];
    }),
  );
  const base = summary.get(off);
  console.log(
    '\n| GET /v2/tokens/{id} | requests/s | p99 ms | CPU µs/request | errors | req/s vs off | CPU vs off |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const server of servers) {
    const result = summary.get(server);
    console.log(
      `| ${server.name} | ${fmt(result.rps)} | ${fmt(result.p99, 2)} | ${fmt(result.cpu)} | ${result.errors} | ` +
        `${fmt(result.rps / base.rps, 3)}× | ${fmt(result.cpu / base.cpu, 3)}× |`,
    );
  }
  console.log(
    `\nrounds (req/s, on/off): ${samples
      .get(on)
      .map((sample, index) => `${fmt(sample.rps)}/${fmt(samples.get(off)[index].rps)}`)
      .join(', ')}`,
  );
  console.log(
    `the observation alone, in process: ${fmt(observedMicros, 2)} µs per request ` +
      `(${fmt((100 * observedMicros) / base.cpu, 2)}% of the CPU time of a read without metrics)`,
  );
  console.log(`one scrape of /metrics after the run: ${fmt(scrapeMs, 1)} ms, ${fmt(scrape.length)} bytes`);

  const ratio = summary.get(on).rps / base.rps;
  const errors = [...summary.values()].reduce((sum, result) => sum + result.errors, 0);
  const met = ratio >= TARGET_RATIO && errors === 0;
  console.log(
    `\ntarget: read with metrics ≥ ${TARGET_RATIO}× without, no errors: ${met ? 'met' : 'MISSED'} (${fmt(ratio, 3)}×)`,
  );
  process.exitCode = met ? 0 : 1;
}

await main();
