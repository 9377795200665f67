// `npm run bench:floor`: what each part of the real server's work costs on its own, against the bare echo.
//
// The echo is started once bare and once per layer (bench/echo-server.mjs: the real store, helmet, the
// request log, the auth cache, each from the server's build), then with all of them and with all but
// the store (the best a server could do if no request ever reached the store), next to the real server; each is loaded in turn, round after round, in alternating order. The table shows how close
// to the echo a server doing only that work can get on this machine: the floor under the ratios that
// `npm run bench` checks.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ADMIN,
  args,
  createBody,
  createToken,
  fmt,
  measure,
  root,
  serverEnv,
  startProcess,
  stop,
} from './lib.mjs';

const DURATION = Number(args.duration ?? 3);
const ROUNDS = Number(args.rounds ?? 6);
const CONNECTIONS = Number(args.connections ?? 16);

const median = (values) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)];

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'api-tokens-floor-'));
  // The echo's store layer makes its database under the temporary directory, removed at the end.
  const echoEnv = { TMPDIR: work };
  const echoScript = join(root, 'bench', 'echo-server.mjs');
  const variants = [
    ['echo', ''],
    ['echo + store', 'store'],
    ['echo + helmet', 'helmet'],
    ['echo + request log', 'log'],
    ['echo + auth', 'auth'],
    ['echo + all but the store', 'helmet,log,auth'],
    ['echo + all four', 'store,helmet,log,auth'],
  ];
  const servers = [];
  for (const [name, layers] of variants)
    servers.push(await startProcess(name, echoScript, echoEnv, [layers]));
  servers.push(
    await startProcess(
      'the API',
      join(root, 'apps', 'api', 'dist', 'index.js'),
      serverEnv(join(work, 'api.db')),
    ),
  );

  console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}`);
  console.log(`settings: ${CONNECTIONS} connections, ${DURATION} s per measurement, ${ROUNDS} rounds\n`);

  const create = {
    method: 'POST',
    path: '/v2/tokens',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: createBody,
  };
  // Each server reads a token it holds (the echo without a store answers any id).
  const reads = [];
  for (const server of servers) {
    const { id } = await createToken(server.url, {
      name: 'reader',
      orgCapabilities: { apiTokens: ['read'] },
    });
    reads.push({ method: 'GET', path: `/v2/tokens/${id}`, headers: { authorization: `Bearer ${ADMIN}` } });
  }

  for (const [operation, requestOf] of [
    ['create (POST /v2/tokens)', () => create],
    ['read (GET /v2/tokens/{id})', (index) => reads[index]],
  ]) {
    const samples = servers.map(() => []);
    for (const [index, server] of servers.entries()) {
      await measure(server, requestOf(index), { duration: 1, connections: CONNECTIONS }); // warm-up
    }
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [...servers.keys()] : [...servers.keys()].reverse();
      for (const index of order) {
        samples[index].push(
          await measure(servers[index], requestOf(index), { duration: DURATION, connections: CONNECTIONS }),
        );
      }
    }
    const rps = samples.map((runs) => median(runs.map((run) => run.rps)));
    const cpu = samples.map((runs) => median(runs.map((run) => run.cpuMicrosPerRequest)));
    console.log(`\n${operation}, medians of ${ROUNDS} rounds`);
    console.log('| server | requests/s | vs echo | CPU µs per request | vs echo | errors |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const [index, server] of servers.entries()) {
      const errors = samples[index].reduce((sum, run) => sum + run.errors, 0);
      console.log(
        `| ${server.name} | ${fmt(rps[index])} | ${fmt(rps[index] / rps[0], 2)}× | ${fmt(cpu[index])} | ` +
          `${fmt(cpu[0] / cpu[index], 2)}× | ${errors} |`,
      );
    }
  }

  for (const server of servers) await stop(server);
  rmSync(work, { recursive: true, force: true });
}

await main();
