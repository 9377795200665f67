// `npm run bench:profile`: where the server's CPU time goes, per operation. For each of an
// authenticated read, a verify and a create, the built server (SQLite, production settings, rate
// limits off, as npm run bench starts it) runs under `node --cpu-prof`, is warmed up, then loaded
// with a fixed number of requests; the .cpuprofile it writes on exit is summarised into self time
// by function and by dependency (a node_modules package, Node's internals, our code by folder, GC,
// idle), as a share of the samples and as µs per request. Only samples from after the warm-up
// count. The profiler slows everything it samples; read the shares and the ranking, not the µs.
//
// Options: --requests=20000 (per operation), --connections=16, --operations=read,verify,create,
// --top=20 (functions listed), --keep (leave the .cpuprofile files in bench/.data/profiles).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import autocannon from 'autocannon';
import {
  ADMIN,
  args,
  createBody,
  createToken,
  fmt,
  freePort,
  root,
  serverEnv,
  waitForHealth,
} from './lib.mjs';

const REQUESTS = Number(args.requests ?? 20_000);
const CONNECTIONS = Number(args.connections ?? 16);
const OPERATIONS = (args.operations ?? 'read,verify,create').split(',');
const TOP = Number(args.top ?? 20);
const KEEP = process.argv.includes('--keep');

/** Where a profile node's code lives: a node_modules package, Node itself, our code by folder, or V8's bookkeeping. */
export function dependencyOf({ functionName, url }) {
  if (url === '') {
    if (['(idle)', '(program)', '(garbage collector)', '(root)'].includes(functionName)) return functionName;
    return 'Node/V8 native (builtins, C++)';
  }
  if (url.startsWith('node:')) return 'Node internals (node:*)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules !== -1) {
    const [scope, name] = url.slice(modules + '/node_modules/'.length).split('/');
    return scope.startsWith('@') ? `${scope}/${name}` : scope;
  }
  const dist = url.indexOf('/apps/api/dist/');
  if (dist !== -1) {
    const inside = url.slice(dist + '/apps/api/dist/'.length).split('/');
    return `ours: apps/api/${inside.length > 1 ? `${inside[0]}/` : inside[0]}`;
  }
  const packages = /\/packages\/([^/]+)\//.exec(url);
  if (packages) return `ours: packages/${packages[1]}`;
  return `other: ${relative(root, url.replace(/^file:\/\//, ''))}`;
}

const where = ({ url, lineNumber }) =>
  url === ''
    ? ''
    : `${relative(root, url.replace(/^file:\/\//, '')).replace(/^node_modules\//, '')}:${lineNumber + 1}`;

/**
 * Self time by function and by dependency, from one .cpuprofile, counting only samples taken at or
 * after `fromMicros` (from the profile's start).
 */
export function summarise(profile, fromMicros = 0) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const byFunction = new Map();
  const byDependency = new Map();
  let elapsed = 0;
  let counted = 0;
  let countedMicros = 0;
  for (const [index, id] of profile.samples.entries()) {
    const delta = profile.timeDeltas[index] ?? 0;
    elapsed += delta;
    if (elapsed < fromMicros) continue;
    // A sample stands for the time until the next one.
    const weight = profile.timeDeltas[index + 1] ?? delta;
    const { callFrame } = nodes.get(id);
    const fn = `${callFrame.functionName || '(anonymous)'} ${where(callFrame)}`.trim();
    const dependency = dependencyOf(callFrame);
    const entry = byFunction.get(fn) ?? { micros: 0, dependency };
    entry.micros += weight;
    byFunction.set(fn, entry);
    byDependency.set(dependency, (byDependency.get(dependency) ?? 0) + weight);
    counted++;
    countedMicros += weight;
  }
  return { byFunction, byDependency, samples: counted, micros: countedMicros };
}

async function profileOperation(operation, work) {
  const port = await freePort();
  const dir = join(work, operation);
  mkdirSync(dir);
  const spawned = performance.now();
  const child = spawn(
    process.execPath,
    ['--cpu-prof', `--cpu-prof-dir=${dir}`, join(root, 'apps', 'api', 'dist', 'index.js')],
    {
      cwd: root,
      env: {
        METRICS_PORT: '0',
        ...process.env,
        ...serverEnv(join(work, `${operation}.db`)),
        PORT: String(port),
        HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForHealth(url);
  const reader = await createToken(url, { name: 'reader', orgCapabilities: { apiTokens: ['read'] } });
  const shipper = await createToken(url, JSON.parse(createBody));
  const requests = {
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
  };
  const request = requests[operation];
  if (request === undefined) throw new Error(`--operations: ${operation} is none of read, verify, create`);
  const { path, ...options } = request;
  const load = (amount) => autocannon({ url: `${url}${path}`, connections: CONNECTIONS, amount, ...options });
  await load(Math.ceil(REQUESTS / 5)); // warm-up: JIT, caches; its samples are left out
  const measuredFrom = (performance.now() - spawned) * 1000;
  const result = await load(REQUESTS);
  const failed = result.errors + result.timeouts + result.non2xx;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM'); // the profile is written as the process exits
  await exited;
  // The main thread's profile (thread 0); the checkpointer's worker thread writes one of its own.
  const file = readdirSync(dir).find((name) => /\.0\.\d+\.cpuprofile$/.test(name));
  if (file === undefined) throw new Error(`${operation}: the server wrote no .cpuprofile`);
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  return { result, failed, profile, measuredFrom, file: join(dir, file) };
}

function report(operation, { result, failed, profile, measuredFrom, file }) {
  const answered = result.requests.total;
  const summary = summarise(profile, measuredFrom);
  const busy = summary.micros - (summary.byDependency.get('(idle)') ?? 0);
  console.log(
    `\n### ${operation}: ${fmt(answered)} requests at ${CONNECTIONS} connections, ${fmt(result.requests.average)} req/s ` +
      `under the profiler, ${failed} failed; ${fmt(summary.samples)} samples, ` +
      `${fmt(busy / answered)} µs of CPU per request (not idle)`,
  );
  if (KEEP) console.log(`profile: ${relative(root, file)}`);
  const share = (micros) => `${fmt((100 * micros) / summary.micros, 1)}%`;
  const perRequest = (micros) => fmt(micros / answered, 1);
  console.log('\n| by dependency | self time | µs per request |');
  console.log('|---|---:|---:|');
  for (const [dependency, micros] of [...summary.byDependency].toSorted((a, b) => b[1] - a[1]))
    if (micros / summary.micros >= 0.002)
      console.log(`| ${dependency} | ${share(micros)} | ${perRequest(micros)} |`);
  console.log(`\n| top ${TOP} functions by self time | dependency | self time | µs per request |`);
  console.log('|---|---|---:|---:|');
  for (const [fn, { micros, dependency }] of [...summary.byFunction]
    .toSorted((a, b) => b[1].micros - a[1].micros)
    .slice(0, TOP))
    console.log(
      `| \`${fn.replaceAll('|', '\\|')}\` | ${dependency} | ${share(micros)} | ${perRequest(micros)} |`,
    );
}

async function main() {
  console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}`);
  console.log(
    `settings: ${fmt(REQUESTS)} requests per operation after a warm-up of ${fmt(Math.ceil(REQUESTS / 5))}, ` +
      `${CONNECTIONS} connections; load average ${loadavg()[0].toFixed(1)} at the start`,
  );
  const work = KEEP
    ? join(root, 'bench', '.data', 'profiles', new Date().toISOString().replaceAll(':', '-'))
    : mkdtempSync(join(tmpdir(), 'api-tokens-profile-'));
  mkdirSync(work, { recursive: true });
  try {
    for (const operation of OPERATIONS) report(operation, await profileOperation(operation, work));
  } finally {
    if (!KEEP) rmSync(work, { recursive: true, force: true });
  }
}

// Imported for summarise (a test, another script): no load is run.
if (import.meta.url === `file://${process.argv[1]}`) await main();
