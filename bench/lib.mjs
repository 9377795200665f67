// What bench/run.mjs and bench/floor.mjs share: options, starting servers, and one autocannon measurement.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ADMIN = 'xaat-benchAdminSecret0123456789012345678901234561d1Dys';

/** `--name=value` arguments. */
export const args = Object.fromEntries(
  process.argv
    .slice(2)
    .map((arg) => /^--([^=]+)=(.*)$/.exec(arg))
    .filter(Boolean)
    .map(([, key, value]) => [key, value]),
);

/** The real server's settings for a run: production, rate limits off, the bench's admin secret. */
export const serverEnv = (database) => ({
  NODE_ENV: 'production',
  LOG_LEVEL: 'info',
  DATABASE_URL: `sqlite:${database}`,
  BOOTSTRAP_TOKEN: ADMIN,
  RATE_LIMIT_FAILED_AUTH_PER_MIN: '0',
  RATE_LIMIT_PER_TOKEN_PER_SEC: '0',
});

export const createBody = JSON.stringify({
  name: 'bench',
  description: 'benchmark token',
  datasetCapabilities: { 'logs-prod': { ingest: ['create'], query: ['read'] }, traces: { query: ['read'] } },
  orgCapabilities: { dashboards: ['read'], monitors: ['read', 'update'] },
});

export async function freePort() {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function waitForHealth(url) {
  for (let attempt = 0; attempt < 600; attempt++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not come up`);
}

/** Starts a server process; stdout (the request log) goes to /dev/null, as a production log shipper would take it away. */
export async function startProcess(name, script, env, extraArgs = []) {
  const port = await freePort();
  const child = spawn(process.execPath, [script, String(port), ...extraArgs], {
    cwd: root,
    env: { METRICS_PORT: '0', ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHealth(url);
  return { name, child, url, peakRssKiB: 0 };
}

export function rssKiB(pid, field = 'VmRSS') {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
}

/** CPU time the process has used so far, user and system, in microseconds (from /proc, 10 ms ticks). */
export function cpuMicros(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

export async function stop(server) {
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;
}

/** Creates a token over HTTP with the admin secret; returns the answer's body. */
export async function createToken(url, body) {
  const response = await fetch(`${url}/v2/tokens`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 200) throw new Error(`could not create a token: ${response.status}`);
  return response.json();
}

/** How often the process has been preempted so far: involuntary context switches, from /proc. */
export function preemptions(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
}

/**
 * One autocannon measurement; samples the server's RSS while it runs and counts its CPU time and
 * its preemptions (a runnable process descheduled for another: contention for cores) per request.
 */
export async function measure(server, request, { duration, connections }) {
  const sampler = setInterval(() => {
    server.peakRssKiB = Math.max(server.peakRssKiB, rssKiB(server.child.pid));
  }, 100);
  const cpuBefore = cpuMicros(server.child.pid);
  const preemptedBefore = preemptions(server.child.pid);
  const { path, ...options } = request;
  const result = await autocannon({ url: `${server.url}${path}`, connections, duration, ...options });
  clearInterval(sampler);
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    cpuMicrosPerRequest: (cpuMicros(server.child.pid) - cpuBefore) / Math.max(result.requests.total, 1),
    preemptionsPerRequest:
      (preemptions(server.child.pid) - preemptedBefore) / Math.max(result.requests.total, 1),
  };
}

export const mean = (values) => values.reduce((sum, value) => sum + value, 0) / values.length;
export const fmt = (value, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits });
