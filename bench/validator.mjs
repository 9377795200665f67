// `npm run bench:validator`: express-openapi-validator's cost per request, as server CPU time.
//
// The same minimal Express app (bench/validator-server.mjs) runs with no validation, with the
// validator exactly as the server configures it (validateAgainstSpec, from the server's build) and,
// unless --unpatched=no, with patches/express-openapi-validator+5.6.2.patch undone in a copy of the
// package. Each is sent a fixed number of requests per round, rounds alternating in order; the CPU
// time the server process used (from /proc, user and system) divided by the requests is the cost.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { args, cpuMicros, createBody, fmt, root, startProcess, stop } from './lib.mjs';

const REQUESTS = Number(args.requests ?? 20_000); // per server per round
const ROUNDS = Number(args.rounds ?? 5);
const CONNECTIONS = Number(args.connections ?? 16);

const median = (values) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)];

/** A copy of the installed package with the repository's patch reversed, where its dependencies still resolve. */
function unpatchedCopy() {
  const base = join(root, 'bench', '.data', 'unpatched');
  const copy = join(base, 'node_modules', 'express-openapi-validator');
  rmSync(base, { recursive: true, force: true });
  mkdirSync(join(base, 'node_modules'), { recursive: true });
  cpSync(join(root, 'node_modules', 'express-openapi-validator'), copy, { recursive: true });
  const patch = join(root, 'patches', 'express-openapi-validator+5.6.2.patch');
  execFileSync('patch', ['--reverse', '--strip=1', '--silent', `--input=${patch}`], { cwd: base });
  return copy;
}

async function cpuPerRequest(server, request, amount) {
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
  return (cpuMicros(server.child.pid) - before) / amount;
}

async function main() {
  const script = join(root, 'bench', 'validator-server.mjs');
  const modes = [
    ['no validation', 'none'],
    ['express-openapi-validator, as the server configures it', 'eov'],
  ];
  const extra = [];
  if (args.unpatched !== 'no' && existsSync(join(root, 'patches'))) {
    modes.push(['the same, patch-package patch undone', 'eov-unpatched']);
    extra.push(unpatchedCopy());
  }
  const servers = [];
  for (const [name, mode] of modes) servers.push(await startProcess(name, script, {}, [mode, ...extra]));

  console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}`);
  console.log(
    `settings: ${CONNECTIONS} connections, ${fmt(REQUESTS)} requests per measurement, ${ROUNDS} rounds\n`,
  );

  const operations = [
    ['read (GET /v2/tokens/{id})', { method: 'GET', path: `/v2/tokens/${crypto.randomUUID()}` }],
    [
      'create (POST /v2/tokens)',
      {
        method: 'POST',
        path: '/v2/tokens',
        headers: { 'content-type': 'application/json' },
        body: createBody,
      },
    ],
  ];
  for (const [operation, request] of operations) {
    for (const server of servers) await cpuPerRequest(server, request, Math.ceil(REQUESTS / 4)); // warm-up
    const samples = servers.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [...servers.keys()] : [...servers.keys()].reverse();
      for (const index of order) samples[index].push(await cpuPerRequest(servers[index], request, REQUESTS));
    }
    const cpu = samples.map(median);
    console.log(`${operation}: server CPU µs per request, median of ${ROUNDS} rounds (all rounds)`);
    console.log('| server | CPU µs per request | over no validation | rounds |');
    console.log('|---|---:|---:|---|');
    for (const [index, server] of servers.entries()) {
      console.log(
        `| ${server.name} | ${fmt(cpu[index])} | ${index === 0 ? '' : `+${fmt(cpu[index] - cpu[0])}`} | ` +
          `${samples[index].map((value) => fmt(value)).join(', ')} |`,
      );
    }
    console.log();
  }
  for (const server of servers) await stop(server);
}

await main();
