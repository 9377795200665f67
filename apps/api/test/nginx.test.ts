// Debian's nginx with the README's example configuration in front of two replicas: a forged X-Forwarded-For gets nowhere.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, pgSkipped, type TestDatabase } from './postgres.js';
import {
  PROCESS_EVENT_BOUND_MS,
  PROCESS_TEST_TIMEOUT_MS,
  type ServerProcess,
  startServer,
} from './process.js';

const NGINX = '/usr/sbin/nginx';
const README = fileURLToPath(new URL('../../../README.md', import.meta.url));
const SECRET = /xaat-[0-9A-Za-z]{49}|xaat-[A-Za-z0-9_-]{43}/;
const FAILED_AUTH_PER_MIN = 5;
/** The address the client connects from: loopback, as a client on the proxy's own host is, but not nginx's own. */
const CLIENT_ADDRESS = '127.0.0.2';

/** The README's nginx example, as it stands: the ```nginx block after its marker comment. */
function readmeNginxExample(): string {
  const readme = readFileSync(README, 'utf8');
  const found = /<!-- nginx example:[^>]*-->\n```nginx\n([\s\S]*?)\n```/.exec(readme);
  if (found?.[1] === undefined) throw new Error('README.md: no nginx example after its marker comment');
  return found[1];
}

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked field by field
  body: any;
}

/** A request to nginx from CLIENT_ADDRESS. */
function request(port: number, target: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const sent = http.request(
      { host: '127.0.0.1', port, path: target, localAddress: CLIENT_ADDRESS, headers, agent: false },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => {
          text += chunk;
        });
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: text === '' ? undefined : JSON.parse(text),
          }),
        );
      },
    );
    sent.setTimeout(PROCESS_EVENT_BOUND_MS, () => sent.destroy(new Error('timeout: nginx did not answer')));
    sent.on('error', reject);
    sent.end();
  });
}

describe.skipIf(pgSkipped)("nginx with the README's example in front of two replicas (TRUST_PROXY=1)", () => {
  let database: TestDatabase;
  let replicas: ServerProcess[] = [];
  let nginx: ChildProcess | undefined;
  let prefix: string;
  let port: number;
  let admin: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    replicas = await Promise.all(
      [0, 1].map(() =>
        startServer({
          DATABASE_URL: database.url,
          TRUST_PROXY: '1',
          RATE_LIMIT_FAILED_AUTH_PER_MIN: String(FAILED_AUTH_PER_MIN),
          RATE_LIMIT_PER_TOKEN_PER_SEC: '0',
        }),
      ),
    );
    await vi.waitFor(
      () => {
        const shown = replicas.map((replica) => SECRET.exec(replica.stderr())?.[0]).find(Boolean);
        if (shown === undefined) throw new Error('timeout: no replica printed the bootstrap secret');
        admin = shown;
      },
      { timeout: PROCESS_EVENT_BOUND_MS, interval: 20 },
    );

    // The example exactly, but for its ports: the replicas' ephemeral ones, and a free one to listen on.
    const example = readmeNginxExample();
    for (const expected of ['server 127.0.0.1:3001;', 'server 127.0.0.1:3002;', 'listen 3000;'])
      expect(example, `the README's example changed: ${expected}`).toContain(expected);
    port = await freePort();
    const [first, second] = replicas.map((replica) => new URL(replica.baseUrl).port);
    const site = example
      .replace('server 127.0.0.1:3001;', `server 127.0.0.1:${first};`)
      .replace('server 127.0.0.1:3002;', `server 127.0.0.1:${second};`)
      .replace('listen 3000;', `listen 127.0.0.1:${port};`);

    // Everything nginx writes stays in a directory of the test's own; one process (no workers
    // switching to another user), in the foreground, so the test owns it.
    prefix = mkdtempSync(path.join(tmpdir(), 'api-tokens-nginx-'));
    writeFileSync(path.join(prefix, 'api-tokens.conf'), `${site}\n`);
    writeFileSync(
      path.join(prefix, 'nginx.conf'),
      `daemon off;
master_process off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log info;
events { worker_connections 256; }
http {
    access_log ${prefix}/access.log;
    client_body_temp_path ${prefix}/client_body;
    proxy_temp_path ${prefix}/proxy;
    fastcgi_temp_path ${prefix}/fastcgi;
    uwsgi_temp_path ${prefix}/uwsgi;
    scgi_temp_path ${prefix}/scgi;
    include ${prefix}/api-tokens.conf;
}
`,
    );
    let output = '';
    nginx = spawn(NGINX, ['-p', prefix, '-e', `${prefix}/error.log`, '-c', `${prefix}/nginx.conf`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    nginx.stdout?.on('data', (chunk) => {
      output += chunk;
    });
    nginx.stderr?.on('data', (chunk) => {
      output += chunk;
    });
    await vi.waitFor(
      async () => {
        if (nginx?.exitCode !== null) throw new Error(`nginx exited: ${output}`);
        const ready = await request(port, '/readyz');
        if (ready.status !== 200) throw new Error(`timeout: nginx answered ${ready.status}`);
      },
      { timeout: PROCESS_EVENT_BOUND_MS, interval: 50 },
    );
  }, PROCESS_TEST_TIMEOUT_MS);

  afterAll(async () => {
    if (nginx !== undefined && nginx.exitCode === null) {
      const exited = new Promise((resolve) => nginx?.once('exit', resolve));
      nginx.kill('SIGQUIT');
      await exited;
    }
    await Promise.all(replicas.map((replica) => replica.stop('SIGKILL')));
    if (prefix !== undefined) rmSync(prefix, { recursive: true, force: true });
    await database?.drop();
  }, PROCESS_TEST_TIMEOUT_MS);

  it(
    'counts failed authentications by the address nginx saw, whatever X-Forwarded-For the client sends',
    async () => {
      // Each attempt invents a new address: believed, none would ever reach the limit.
      const answers: Answer[] = [];
      for (let attempt = 0; attempt < 3 * FAILED_AUTH_PER_MIN; attempt++) {
        answers.push(
          await request(port, '/v2/tokens', {
            Authorization: `Bearer xaat-wrong-${attempt}`,
            'X-Forwarded-For': `203.0.113.${attempt + 1}`,
          }),
        );
      }
      const statuses = answers.map((answer) => answer.status);
      expect(statuses.slice(0, FAILED_AUTH_PER_MIN)).toEqual(Array(FAILED_AUTH_PER_MIN).fill(401));
      expect(statuses.slice(FAILED_AUTH_PER_MIN)).toEqual(Array(2 * FAILED_AUTH_PER_MIN).fill(429));
      // A valid token from that address is never refused for it.
      expect((await request(port, '/v2/tokens?limit=1', { Authorization: `Bearer ${admin}` })).status).toBe(
        200,
      );
      // Nor can a forged header spend another address's budget: one never seen is not limited.
      const replica = replicas[0] as ServerProcess;
      const direct = await fetch(`${replica.baseUrl}/v2/tokens`, {
        headers: { Authorization: 'Bearer xaat-wrong' },
      });
      expect(direct.status).toBe(401);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'records the address nginx saw in the audit trail and the request log, never a forged one',
    async () => {
      await request(port, '/v2/tokens', {
        Authorization: 'Bearer xaat-wrong-audit',
        'X-Forwarded-For': '198.51.100.9, 203.0.113.200',
      });
      // Refusals are counted into the trail in the background: wait until they are there.
      // biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked field by field
      let refused: any[] = [];
      await vi.waitFor(
        async () => {
          const listed = await request(port, '/v2/audit/events?type=auth.refused', {
            Authorization: `Bearer ${admin}`,
          });
          expect(listed.status).toBe(200);
          refused = listed.body;
          const counted = refused.reduce((sum, event) => sum + (event.details?.count ?? 1), 0);
          if (counted < FAILED_AUTH_PER_MIN + 1) throw new Error('timeout: the refusals were not recorded');
        },
        { timeout: PROCESS_EVENT_BOUND_MS, interval: 100 },
      );
      const addresses = new Set(refused.map((event) => event.client?.address));
      expect(
        [...addresses].filter((address) => address !== CLIENT_ADDRESS && address !== '127.0.0.1'),
      ).toEqual([]);
      expect(addresses).toContain(CLIENT_ADDRESS);

      const logged = replicas.flatMap((replica) =>
        replica
          .stdout()
          .split('\n')
          .filter((line) => line.includes('"request completed"'))
          .map((line) => JSON.parse(line)),
      );
      const throughNginx = logged.filter((entry) => entry.req.clientAddress === CLIENT_ADDRESS);
      expect(throughNginx.length).toBeGreaterThan(3 * FAILED_AUTH_PER_MIN);
      for (const entry of throughNginx) expect(entry.req.remoteAddress).toMatch(/127\.0\.0\.1$/);
      for (const replica of replicas) expect(replica.stdout()).not.toMatch(/203\.0\.113\.|198\.51\.100\./);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
