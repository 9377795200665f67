// The real process under faults: kill -9 and SIGTERM during bursts lose nothing acknowledged; debug logs hold no secret.
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { callServer, PROCESS_TEST_TIMEOUT_MS, type ServerProcess, startServer } from './process.js';

const ADMIN = 'xaat-durabilityAdminSecret01234567890123456789014Oi0Oi';
const SECRET = /xaat-[0-9A-Za-z]{49}|xaat-[A-Za-z0-9_-]{43}/g;

let dir: string;
const running: ServerProcess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'api-tokens-durability-'));
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop('SIGKILL')));
  rmSync(dir, { recursive: true, force: true });
});

async function start(env: Record<string, string> = {}) {
  const server = await startServer({
    DATABASE_URL: `sqlite:${join(dir, 'tokens.db')}`,
    BOOTSTRAP_TOKEN: ADMIN,
    RATE_LIMIT_FAILED_AUTH_PER_MIN: '0',
    RATE_LIMIT_PER_TOKEN_PER_SEC: '0',
    ...env,
  });
  running.push(server);
  return server;
}

/** Calls the API (under /v2) of a server process. */
const call = (server: ServerProcess, method: string, path: string, secret: string, body?: unknown) =>
  callServer(server, method, `/v2${path}`, secret, body);

/** Every row complete: the schema's integrity, parsable capabilities, a 32-byte digest. */
function expectNoHalfWrittenRows() {
  const db = new Database(join(dir, 'tokens.db'));
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const rows = db.prepare('SELECT * FROM tokens').all() as Record<string, unknown>[];
    for (const row of rows) {
      expect(typeof row.name).toBe('string');
      for (const column of ['dataset_capabilities', 'org_capabilities', 'view_capabilities']) {
        expect(() => JSON.parse(row[column] as string)).not.toThrow();
      }
      expect((row.secret_digest as Buffer).length).toBe(32);
    }
    return rows.length;
  } finally {
    db.close();
  }
}

describe('kill -9 during a burst of creates', () => {
  it('keeps every token answered 200, each still authenticating, and no row half-written', async () => {
    const server = await start();
    const answered: { id: string; token: string }[] = [];
    let failures = 0;
    let fortiethAnswered = () => {};
    const fortieth = new Promise<void>((resolve) => {
      fortiethAnswered = resolve;
    });
    const burst = Array.from({ length: 2000 }, async (_, i) => {
      try {
        const answer = await call(server, 'POST', '/tokens', ADMIN, {
          name: `burst-${i}`,
          orgCapabilities: { apiTokens: ['read'] },
          datasetCapabilities: { logs: { ingest: ['create'] } },
        });
        if (answer.status === 200) answered.push(answer.body);
        if (answered.length === 40) fortiethAnswered();
      } catch {
        failures++; // cut off by the kill: never acknowledged
      }
    });
    // Kill once part of the burst has been acknowledged, while the rest is in flight (or, should the
    // burst end first, once it has: then the check that the kill landed mid-burst fails).
    await Promise.race([fortieth, Promise.all(burst)]);
    expect(answered.length).toBeGreaterThanOrEqual(40);
    expect(await server.stop('SIGKILL')).toBeNull();
    await Promise.all(burst);
    expect(failures).toBeGreaterThan(0); // the kill really did land mid-burst

    const stored = expectNoHalfWrittenRows();
    expect(stored).toBeGreaterThanOrEqual(answered.length + 1); // + the bootstrap token
    const restarted = await start();
    const listed = new Set(
      (await call(restarted, 'GET', '/tokens', ADMIN)).body.map((t: { id: string }) => t.id),
    );
    for (const token of answered) {
      expect(listed.has(token.id)).toBe(true);
      expect((await call(restarted, 'GET', `/tokens/${token.id}`, token.token)).status).toBe(200);
    }
    // 2,000 concurrent connections and two process starts: about 6 s alone, far more beside the
    // rest of the suite on two cores.
  }, 60_000);
});

describe('SIGTERM during a burst', () => {
  it('finishes the requests it accepted, refuses new connections, exits 0, and loses nothing acknowledged', async () => {
    const server = await start();
    const port = Number(new URL(server.baseUrl).port);

    // A request already accepted: headers and half the body sent before the signal.
    const body = JSON.stringify({ name: 'in flight at SIGTERM' });
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      `POST /v2/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 10)}`,
    );
    let raw = '';
    socket.on('data', (chunk) => {
      raw += chunk;
    });
    const socketClosed = once(socket, 'close');

    let firstAnswered = () => {};
    const first = new Promise<void>((resolve) => {
      firstAnswered = resolve;
    });
    const burst = Array.from({ length: 50 }, (_, i) =>
      call(server, 'POST', '/tokens', ADMIN, { name: `drain-${i}` })
        .then((answer) => {
          firstAnswered();
          return answer;
        })
        .catch(() => undefined),
    );
    // The server answered the burst, so it has accepted the half-sent request's connection, made
    // before it (accepts come in order), and read its headers; the rest of the burst is in flight.
    await first;
    const exited = once(server.child, 'exit');
    server.child.kill('SIGTERM');
    // The server logs this just before it stops listening, in the same tick: wait for it, not a while.
    await server.logged(/"msg":"stopping/);

    // New connections are refused while the accepted request is still open.
    await expect(fetch(`${server.baseUrl}/healthz`)).rejects.toThrow();
    socket.write(body.slice(10));
    await socketClosed;
    expect(raw).toMatch(/^HTTP\/1\.1 200 OK/);
    const inFlight = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));

    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
    const acknowledged = (await Promise.all(burst)).filter((answer) => answer?.status === 200);
    expect(expectNoHalfWrittenRows()).toBeGreaterThanOrEqual(acknowledged.length + 2);

    const restarted = await start();
    for (const token of [inFlight, ...acknowledged.map((answer) => answer?.body)]) {
      expect((await call(restarted, 'GET', `/tokens/${token.id}`, ADMIN)).status).toBe(200);
      // It holds no capabilities, so 403: authenticated, then refused; an unknown secret would be 401.
      expect((await call(restarted, 'GET', '/tokens', token.token)).status).toBe(403);
    }
  });
});

describe('SIGTERM with a request that never completes', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('cuts its connection at the drain deadline and still exits 0', async () => {
    const server = await start();
    const socket = connect(Number(new URL(server.baseUrl).port), '127.0.0.1');
    await once(socket, 'connect');
    // Headers and part of a body, and then nothing: the request stays in flight.
    socket.write(
      `POST /v2/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":',
    );
    socket.on('error', () => {}); // the cut may reach it as a reset
    const socketClosed = once(socket, 'close');
    const exited = server.stop('SIGTERM');
    await server.logged(/requests still in flight after \d+ s; closing their connections/);
    await socketClosed;
    expect(await exited).toBe(0);
  });
});

describe('secrets at LOG_LEVEL=debug', () => {
  it('no secret, bootstrap, created or regenerated, appears in any log line or in the database files', async () => {
    const server = await start({ LOG_LEVEL: 'debug' });
    const secrets = [ADMIN];
    const created = await call(server, 'POST', '/tokens', ADMIN, {
      name: 'leak-check',
      orgCapabilities: { apiTokens: ['create', 'read', 'update', 'delete'] },
    });
    secrets.push(created.body.token);
    const child = await call(server, 'POST', '/tokens', created.body.token, { name: 'child' });
    secrets.push(child.body.token);
    const regenerated = await call(
      server,
      'POST',
      `/tokens/${created.body.id}/regenerate`,
      created.body.token,
      {
        existingTokenExpiresAt: new Date(Date.now() + 60_000).toISOString(),
      },
    );
    secrets.push(regenerated.body.token);
    // Errors and refusals of every kind, some carrying secrets in the header.
    await call(server, 'GET', '/tokens', `${ADMIN}x`);
    await call(server, 'GET', '/tokens', child.body.token);
    await call(server, 'POST', '/tokens', ADMIN, { name: '', secret: ADMIN });
    await call(server, 'GET', `/tokens/${created.body.id}`, regenerated.body.token);
    await call(server, 'DELETE', `/tokens/${child.body.id}`, ADMIN);
    await call(server, 'GET', '/tokens?limit=1', ADMIN);
    expect(await server.stop('SIGTERM')).toBe(0);

    const logs = server.stdout() + server.stderr();
    expect(logs).toMatch(/"level":20/); // debug lines were really written
    const files = readdirSync(dir)
      .map((file) => readFileSync(join(dir, file)).toString('latin1'))
      .join('\n');
    for (const secret of secrets) {
      expect(logs).not.toContain(secret);
      expect(files).not.toContain(secret);
    }
    expect(logs.match(SECRET)).toBeNull();
  });
});
