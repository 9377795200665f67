// The real process, as users run it: bootstrap, persistence across kill -9, clean shutdown, refusals at start-up.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  PROCESS_EVENT_BOUND_MS,
  PROCESS_TEST_TIMEOUT_MS,
  runServerExpectingExit,
  type ServerProcess,
  type SpawnOptions,
  startServer,
} from './process.js';

const BOOTSTRAP_TOKEN = 'xaat-serverBootstrapSecretForTests012345678901232WkVvE';
const SECRET = /xaat-[0-9A-Za-z]{49}|xaat-[A-Za-z0-9_-]{43}/g;

let dir: string;
let databaseUrl: string;
const running: ServerProcess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'api-tokens-server-'));
  databaseUrl = `sqlite:${join(dir, 'tokens.db')}`;
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop('SIGKILL')));
  rmSync(dir, { recursive: true, force: true });
});

async function start(env: Record<string, string> = {}, options: SpawnOptions = {}) {
  const server = await startServer({ DATABASE_URL: databaseUrl, ...env }, options);
  running.push(server);
  return server;
}

async function createToken(server: ServerProcess, secret: string, body: object) {
  const response = await fetch(`${server.baseUrl}/v2/tokens`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    body: (await response.json()) as { token: string; [field: string]: unknown },
  };
}

/** A start-up refusal: a non-zero exit and one line on stderr, matching `pattern`. */
const expectRefusal = (result: { code: number | null; stderr: string }, pattern: RegExp) => {
  expect(result.code).not.toBe(0);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(pattern);
};

const databaseFiles = () =>
  readdirSync(dir)
    .map((file) => readFileSync(join(dir, file)).toString('latin1'))
    .join('\n');

describe('the server process', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('answers /healthz without authentication', async () => {
    const server = await start();
    const response = await fetch(`${server.baseUrl}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('on an empty store, generates the admin token and shows it once on the console, never in the logs', async () => {
    const server = await start();
    // Printed on stderr before "listening" is logged on stdout; the two pipes are read apart.
    await vi.waitFor(() => expect(server.stderr()).toMatch(SECRET), {
      timeout: PROCESS_EVENT_BOUND_MS,
      interval: 20,
    });
    const shown = server.stderr().match(SECRET) ?? [];
    expect(shown).toHaveLength(1);
    const admin = shown[0] as string;
    expect((await createToken(server, admin, { name: 'first' })).status).toBe(200);
    expect(server.stdout()).not.toContain(admin);

    // A restart on the same store neither creates nor shows another one.
    await server.stop();
    const again = await start();
    expect(again.stderr()).not.toMatch(SECRET);
    expect((await createToken(again, admin, { name: 'second' })).status).toBe(200);
  });

  it('takes the admin token from BOOTSTRAP_TOKEN and never prints it', async () => {
    const server = await start({ BOOTSTRAP_TOKEN });
    const created = await createToken(server, BOOTSTRAP_TOKEN, {
      name: 'scoped',
      orgCapabilities: { apiTokens: ['create'] },
      datasetCapabilities: { '*': { query: ['read'] } },
    });
    expect(created.status).toBe(200);
    await server.stop();
    expect(server.stdout() + server.stderr()).not.toContain(BOOTSTRAP_TOKEN);
    expect(server.stdout() + server.stderr()).not.toContain(created.body.token);
  });

  it('keeps a token answered 200 through kill -9, and it still grants only what it holds', async () => {
    const server = await start({ BOOTSTRAP_TOKEN });
    const created = await createToken(server, BOOTSTRAP_TOKEN, {
      name: 'durable',
      orgCapabilities: { apiTokens: ['create'] },
      datasetCapabilities: { logs: { ingest: ['create'] } },
    });
    expect(created.status).toBe(200);
    expect(await server.stop('SIGKILL')).toBeNull();

    const restarted = await start({ BOOTSTRAP_TOKEN });
    expect((await createToken(restarted, created.body.token, { name: 'narrower' })).status).toBe(200);
    const escalation = await createToken(restarted, created.body.token, {
      name: 'wider',
      datasetCapabilities: { logs: { query: ['read'] } },
    });
    expect(escalation.status).toBe(403);
    for (const secret of [BOOTSTRAP_TOKEN, created.body.token]) expect(databaseFiles()).not.toContain(secret);
  });

  it('stops on SIGTERM and SIGINT with exit code 0, after closing the store', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const server = await start();
      expect(await server.stop(signal)).toBe(0);
      // Logged only once the store (and its checkpointer) closed; an exit before it means close() never finished.
      expect(server.stdout()).toMatch(/"msg":"stopped"/);
    }
  });

  // Reported to hang about 1 run in 16 (issue 21), cause unknown. 40 runs of this test alone, with the
  // diagnostic of test/process.ts in place, all passed (2026-12-02); should it hang again, its timeout
  // error carries the server's JavaScript stack and active libuv handles: start from those.
  it('still stops on SIGTERM when whatever read its log has gone away', async () => {
    const server = await start();
    server.child.stdout?.destroy(); // the log reader dies: every later write to stdout fails (EPIPE)
    expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200); // a log line into the void
    expect(await server.stop('SIGTERM')).toBe(0);
  });

  it('serves the generated client to a plain Node ESM script', async () => {
    const server = await start({ BOOTSTRAP_TOKEN });
    const script = `
      import { createApiToken } from '@api-tokens/client';
      const { data, error, response } = await createApiToken({
        baseUrl: process.env.BASE_URL + '/v2',
        headers: { Authorization: 'Bearer ' + process.env.SECRET },
        body: { name: 'from-esm', orgCapabilities: { dashboards: ['read'] } },
      });
      console.log(JSON.stringify({ status: response.status, data, error }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, BASE_URL: server.baseUrl, SECRET: BOOTSTRAP_TOKEN },
      cwd: join(import.meta.dirname, '..'),
    });
    const result = JSON.parse(stdout);
    expect(result.status).toBe(200);
    expect(result.data).toMatchObject({ name: 'from-esm', orgCapabilities: { dashboards: ['read'] } });
    expect(result.data.token).toMatch(/^xaat-/);
  });
});

describe('two server processes on one database', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  const revoke = (server: ServerProcess, secret: string, id: unknown) =>
    fetch(`${server.baseUrl}/v2/tokens/${id}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${secret}` },
    });
  const statusOfRead = async (server: ServerProcess, secret: string, id: unknown) =>
    (await fetch(`${server.baseUrl}/v2/tokens/${id}`, { headers: { Authorization: `Bearer ${secret}` } }))
      .status;

  const refusedBeside = async (AUTH_CACHE_SIZE: string) => {
    const result = await runServerExpectingExit({ DATABASE_URL: databaseUrl, AUTH_CACHE_SIZE });
    expectRefusal(result, /^api-tokens: cannot start: DATABASE_URL: .*AUTH_CACHE_SIZE/);
    return result.stderr;
  };

  it('refuses a second one while the first keeps its auth cache, with or without its own', async () => {
    await start({ BOOTSTRAP_TOKEN });
    expect(await refusedBeside('10000')).toMatch(/another api-tokens process is using this database/);
    expect(await refusedBeside('0')).toMatch(/an api-tokens process with the auth cache on .* is using/);
  });

  it('refuses one with the auth cache beside one without, and the lock goes with the process, however it ends', async () => {
    const cacheless = await start({ AUTH_CACHE_SIZE: '0' });
    expect(await refusedBeside('10000')).toMatch(/another api-tokens process is using this database/);
    expect(await cacheless.stop('SIGKILL')).toBeNull();
    const cached = await start();
    expect((await fetch(`${cached.baseUrl}/healthz`)).status).toBe(200);
  });

  it('lets several run with AUTH_CACHE_SIZE=0, and a revocation in one holds at once in the other', async () => {
    const one = await start({ BOOTSTRAP_TOKEN, AUTH_CACHE_SIZE: '0' });
    const other = await start({ AUTH_CACHE_SIZE: '0' });
    const created = await createToken(one, BOOTSTRAP_TOKEN, {
      name: 'shared',
      orgCapabilities: { apiTokens: ['read'] },
    });
    const { id, token } = created.body;
    expect(await statusOfRead(other, token, id)).toBe(200);
    expect((await revoke(one, BOOTSTRAP_TOKEN, id)).status).toBe(204);
    expect(await statusOfRead(other, token, id)).toBe(401);
  });
});

describe('server errors after start-up', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  /** Faults the running server: its http.Server emits an error with `code`, as when accept() fails. */
  const faulted = async (code: string) => {
    const preload = pathToFileURL(join(import.meta.dirname, 'fixtures', 'emitServerError.mjs')).href;
    const server = await start({ SERVER_ERROR_CODE: code }, { preload: [preload] });
    server.child.kill('SIGUSR2');
    return server;
  };

  it('out of file descriptors on accept (EMFILE): logged as an error, and the server keeps serving', async () => {
    const server = await faulted('EMFILE');
    await server.logged(/"level":50,.*"code":"EMFILE".*still serving/);
    expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);
    expect(server.stderr()).not.toMatch(/cannot start/);
    expect(await server.stop('SIGTERM')).toBe(0);
  });

  it('any other error: logged, then the same drain and close as SIGTERM, and exit code 1', async () => {
    const server = await faulted('ERR_SERVER_BROKEN');
    expect(await server.exited()).toBe(1);
    expect(server.stdout()).toMatch(
      /"level":50,.*"code":"ERR_SERVER_BROKEN".*"msg":"server: failed, stopping"/,
    );
    // Logged only once the store closed: the drain path ran to its end.
    expect(server.stdout()).toMatch(/"msg":"stopped"/);
    expect(server.stderr()).not.toMatch(/cannot start/);
  });
});

describe('start-up refusals: one line on stderr, non-zero exit', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it.each([
    ['PORT', '0x50'],
    ['PORT', ' '],
    ['HOST', 'not a host'],
    ['TRUST_PROXY', 'proxy.example.com'],
    ['EXPIRED_TOKEN_RETENTION', '7 days'],
  ])('a malformed %s (%j), naming it', async (name, value) => {
    expectRefusal(
      await runServerExpectingExit({ DATABASE_URL: databaseUrl, [name]: value }),
      new RegExp(`^api-tokens: cannot start: ${name}: `),
    );
  });

  it('a malformed BOOTSTRAP_TOKEN, without echoing it', async () => {
    const result = await runServerExpectingExit({
      DATABASE_URL: databaseUrl,
      BOOTSTRAP_TOKEN: 'short-secret!',
    });
    expectRefusal(result, /BOOTSTRAP_TOKEN/);
    expect(result.stderr).not.toContain('short-secret!');
  });

  it.each([
    ['a directory nobody can create files in', 'sqlite:/proc/tokens.db'],
    ['a path through a file', 'sqlite:/dev/null/data/tokens.db'],
  ])('an unwritable data directory: %s', async (_, url) => {
    expectRefusal(
      await runServerExpectingExit({ DATABASE_URL: url }),
      /^api-tokens: cannot start: DATABASE_URL: /,
    );
  });

  it('an unsupported DATABASE_URL', async () => {
    expectRefusal(await runServerExpectingExit({ DATABASE_URL: 'mysql://localhost/tokens' }), /DATABASE_URL/);
  });

  it('a port already in use', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    const address = blocker.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      expectRefusal(
        await runServerExpectingExit({ DATABASE_URL: databaseUrl, HOST: '127.0.0.1', PORT: String(port) }),
        /PORT: .* already in use/,
      );
    } finally {
      blocker.close();
    }
  });
});
