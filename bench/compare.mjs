// `node bench/compare.mjs --before=<dir> [--after=apps/api/dist]`: two builds of the server A/B, for
// a hot-path change's commit message. Each build's index.js runs on its own empty SQLite store
// (production settings, rate limits off); for each of read, verify and create, both get a fixed
// number of requests per round, rounds alternating which goes first, and the table gives the
// medians of requests/s and of the server's CPU time per request (user + system, from /proc),
// which moves less than requests/s on a shared machine. The before build is a copy of
// apps/api/dist made before the change, kept under apps/api/ so that its imports still resolve.
//
// Options: --requests=10000 (per server per round), --rounds=5, --connections=16,
// --operations=read,verify,create.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import {
  ADMIN,
  args,
  cpuMicros,
  createBody,
  createToken,
  fmt,
  root,
  serverEnv,
  startProcess,
  stop,
} from './lib.mjs';

const REQUESTS = Number(args.requests ?? 10_000);
const ROUNDS = Number(args.rounds ?? 5);
const CONNECTIONS = Number(args.connections ?? 16);
const OPERATIONS = (args.operations ?? 'read,verify,create').split(',');
if (args.before === undefined)
  throw new Error('--before=<a copy of apps/api/dist from before the change> is required');
const builds = [
  ['before', resolve(args.before)],
  ['after', resolve(args.after ?? join(root, 'apps', 'api', 'dist'))],
];

const median = (values) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)];

async function run(server, request, amount) {
  const before = cpuMicros(server.child.pid);
  const { path, ...options } = request;
  const result = await autocannon({
    url: `${server.url}${path}`,
    connections: CONNECTIONS,
    amount,
    ...options,
  });
  const failed = result.errors + result.timeouts + result.non2xx;
  if (failed > 0) throw new Error(`${server.name}: ${failed} of ${amount} requests failed`);
  return { rps: result.requests.average, cpu: (cpuMicros(server.child.pid) - before) / amount };
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'api-tokens-compare-'));
  console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}`);
  console.log(
    `settings: ${fmt(REQUESTS)} requests per server per round, ${ROUNDS} rounds, ${CONNECTIONS} connections; ` +
      `load average ${loadavg()[0].toFixed(1)} at the start`,
  );
  const servers = [];
  for (const [name, dist] of builds)
    servers.push(await startProcess(name, join(dist, 'index.js'), serverEnv(join(work, `${name}.db`))));
  const requests = [];
  for (const server of servers) {
    const reader = await createToken(server.url, {
      name: 'reader',
      orgCapabilities: { apiTokens: ['read'] },
    });
    const shipper = await createToken(server.url, JSON.parse(createBody));
    requests.push({
      read: {
        method: 'GET',
        path: `/v2/tokens/${reader.id}`,
        headers: { authorization: `Bearer ${reader.token}` },
      },
      verify: {
        method: 'POST',
        path: '/v2/tokens/verify',
        headers: { authorization: `Bearer ${reader.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          token: shipper.token,
          require: { datasetCapabilities: { 'logs-prod': { ingest: ['create'] } } },
        }),
      },
      create: {
        method: 'POST',
        path: '/v2/tokens',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: createBody,
      },
    });
  }
  console.log(
    '\n| operation | before req/s | after req/s | before CPU µs/req | after CPU µs/req | CPU after/before | rounds (CPU µs, before/after) |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---|');
  for (const operation of OPERATIONS) {
    for (const [index, server] of servers.entries())
      await run(server, requests[index][operation], Math.ceil(REQUESTS / 4));
    const samples = servers.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      for (const index of order)
        samples[index].push(await run(servers[index], requests[index][operation], REQUESTS));
    }
    const rps = samples.map((runs) => median(runs.map((r) => r.rps)));
    const cpu = samples.map((runs) => median(runs.map((r) => r.cpu)));
    const rounds = samples[0].map((r, i) => `${fmt(r.cpu)}/${fmt(samples[1][i].cpu)}`).join(', ');
    console.log(
      `| ${operation} | ${fmt(rps[0])} | ${fmt(rps[1])} | ${fmt(cpu[0])} | ${fmt(cpu[1])} | ${fmt(cpu[1] / cpu[0], 3)}× | ${rounds} |`,
    );
  }
  for (const server of servers) await stop(server);
  rmSync(work, { recursive: true, force: true });
  console.log(`\nload average ${loadavg()[0].toFixed(1)} at the end`);
}

await main();
