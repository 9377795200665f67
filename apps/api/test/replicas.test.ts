// Stateless replicas: several real server processes on one PostgreSQL database serve any request alike.
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, pgSkipped, pgTestUrl, type TestDatabase } from './postgres.js';
import {
  callServer,
  PROCESS_EVENT_BOUND_MS,
  PROCESS_TEST_TIMEOUT_MS,
  runServerExpectingExit,
  type ServerProcess,
  startServer,
} from './process.js';
import { startTcpProxy, type TcpProxy } from './tcpProxy.js';

const call = callServer;

const SECRET = /xaat-[0-9A-Za-z]{49}|xaat-[A-Za-z0-9_-]{43}/;

const running: ServerProcess[] = [];
const databases: TestDatabase[] = [];
const proxies: TcpProxy[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop('SIGKILL')));
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});
afterAll(async () => {
  await Promise.all(databases.splice(0).map((database) => database.drop()));
});

async function newDatabase() {
  const database = await createTestDatabase();
  databases.push(database);
  return database;
}

/**
 * `count` replicas on the database at `url`, started together; killed after the case unless
 * `forTheGroup` (a group's beforeAll starts them for all its cases, and its afterAll stops them).
 */
async function startReplicas(
  url: string,
  count: number,
  env: Record<string, string> = {},
  forTheGroup = false,
) {
  const replicas = await Promise.all(
    Array.from({ length: count }, () =>
      startServer({
        DATABASE_URL: url,
        RATE_LIMIT_FAILED_AUTH_PER_MIN: '0',
        RATE_LIMIT_PER_TOKEN_PER_SEC: '0',
        ...env,
      }),
    ),
  );
  if (!forTheGroup) running.push(...replicas);
  return replicas;
}

/**
 * The one generated bootstrap secret among the replicas' consoles. It is printed on stderr before
 * "listening" is logged on stdout, but the two pipes are read apart, so it is waited for.
 */
async function bootstrapSecret(replicas: ServerProcess[]): Promise<string> {
  const shown = () => replicas.map((replica) => SECRET.exec(replica.stderr())?.[0]).filter(Boolean);
  await vi.waitFor(
    () => {
      if (shown().length === 0) throw new Error('timeout: no replica printed the bootstrap secret');
    },
    { timeout: PROCESS_EVENT_BOUND_MS, interval: 20 },
  );
  expect(shown()).toHaveLength(1);
  return shown()[0] as string;
}

/** Every token id of a walk through the pages, `limit` at a time, each page from the next replica in turn. */
async function walkPages(replicas: ServerProcess[], secret: string, limit: number) {
  const ids: string[] = [];
  let path: string | undefined = `/v2/tokens?limit=${limit}`;
  for (let page = 0; path !== undefined; page++) {
    const answer = await call(replicas[page % replicas.length] as ServerProcess, 'GET', path, secret);
    expect(answer.status).toBe(200);
    ids.push(...answer.body.map((token: { id: string }) => token.id));
    const next = /<([^>]+)>;\s*rel="next"/.exec(answer.headers.get('link') ?? '')?.[1];
    path =
      next === undefined ? undefined : new URL(next, 'http://x').pathname + new URL(next, 'http://x').search;
  }
  return ids;
}

describe.skipIf(pgSkipped)('replicas on one PostgreSQL database', () => {
  let database: TestDatabase;
  let replicas: ServerProcess[];
  let admin: string;
  beforeAll(async () => {
    database = await newDatabase();
  }, PROCESS_TEST_TIMEOUT_MS);

  it(
    'bootstrap once when three replicas start together on an empty database',
    async () => {
      replicas = await startReplicas(database.url, 3);
      admin = await bootstrapSecret(replicas);
      const listed = await call(replicas[2] as ServerProcess, 'GET', '/v2/tokens', admin);
      expect(listed.status).toBe(200);
      expect(listed.body).toHaveLength(1);
      for (const replica of replicas) expect((await call(replica, 'GET', '/readyz')).status).toBe(200);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  describe('serving together', () => {
    beforeAll(async () => {
      replicas = await startReplicas(database.url, 3, {}, true);
      // The database was bootstrapped by the case above, or is now by one of these.
      if (admin === undefined) admin = await bootstrapSecret(replicas);
    }, PROCESS_TEST_TIMEOUT_MS);
    afterAll(async () => {
      await Promise.all(replicas.map((replica) => replica.stop('SIGKILL')));
    });
    const replica = (index: number) => () => replicas[index] as ServerProcess;
    const [a, b, c] = [replica(0), replica(1), replica(2)];

    const createReader = async (on: ServerProcess) => {
      const created = await call(on, 'POST', '/v2/tokens', admin, {
        name: 'reader',
        orgCapabilities: { apiTokens: ['read'] },
      });
      expect(created.status).toBe(200);
      return created.body as { id: string; token: string };
    };

    it('refuses a token deleted on one replica on every other at their very next request', async () => {
      for (let round = 0; round < 5; round++) {
        const reader = await createReader(a());
        for (const replica of [b(), c()])
          expect((await call(replica, 'GET', `/v2/tokens/${reader.id}`, reader.token)).status).toBe(200);
        expect((await call(a(), 'DELETE', `/v2/tokens/${reader.id}`, admin)).status).toBe(204);
        for (const replica of [b(), c(), a()])
          expect((await call(replica, 'GET', `/v2/tokens/${reader.id}`, reader.token)).status).toBe(401);
      }
    });

    it('refuses a token regenerated with a grace period in the past on every replica at once', async () => {
      const reader = await createReader(b());
      expect((await call(c(), 'GET', '/v2/tokens', reader.token)).status).toBe(200);
      const regenerated = await call(b(), 'POST', `/v2/tokens/${reader.id}/regenerate`, admin, {
        existingTokenExpiresAt: new Date(Date.now() - 1000).toISOString(),
      });
      expect(regenerated.status).toBe(200);
      for (const replica of [c(), a()])
        expect((await call(replica, 'GET', '/v2/tokens', reader.token)).status).toBe(401);
      expect((await call(c(), 'GET', '/v2/tokens', regenerated.body.token)).status).toBe(200);
    });

    it('regenerates a token at most once when the replicas race', async () => {
      for (let round = 0; round < 5; round++) {
        const reader = await createReader(c());
        const answers = await Promise.all(
          [a(), b(), c(), a(), b(), c()].map((replica) =>
            call(replica, 'POST', `/v2/tokens/${reader.id}/regenerate`, admin, {
              existingTokenExpiresAt: new Date(Date.now() + 60_000).toISOString(),
            }),
          ),
        );
        expect(answers.map((answer) => answer.status).sort()).toEqual([200, 409, 409, 409, 409, 409]);
      }
    });

    it(
      'walks pages during concurrent inserts on two replicas: skips none that existed, repeats none',
      async () => {
        const before = await walkPages([c()], admin, 1000);
        let writing = true;
        const write = async (on: ServerProcess) => {
          let written = 0;
          while (writing) {
            const answers = await Promise.all(
              Array.from({ length: 4 }, () => call(on, 'POST', '/v2/tokens', admin, { name: 'concurrent' })),
            );
            for (const answer of answers) expect(answer.status).toBe(200);
            written += answers.length;
          }
          return written;
        };
        const writers = [write(a()), write(b())];
        try {
          for (let round = 0; round < 3; round++) {
            const walked = await walkPages([c(), a(), b()], admin, 7);
            expect(new Set(walked).size, 'no token repeated').toBe(walked.length);
            expect(walked.slice(0, before.length), 'every token that existed, in order').toEqual(before);
          }
        } finally {
          writing = false;
        }
        expect((await Promise.all(writers)).every((written) => written > 0)).toBe(true);
      },
      PROCESS_TEST_TIMEOUT_MS,
    );
  });

  describe('shared rate limits', () => {
    it(
      'counts failed authentications and requests per token across replicas',
      async () => {
        const shared = await newDatabase();
        const limited = await startReplicas(shared.url, 2, {
          RATE_LIMIT_FAILED_AUTH_PER_MIN: '3',
          RATE_LIMIT_PER_TOKEN_PER_SEC: '4',
        });
        const [first, second] = limited as [ServerProcess, ServerProcess];
        const secret = await bootstrapSecret(limited);
        // Failed authentications: three on one replica, and the fourth, on the other, is refused.
        for (let i = 0; i < 3; i++)
          expect((await call(first, 'GET', '/v2/tokens', `xaat-wrong-${i}`)).status).toBe(401);
        const fourth = await call(second, 'GET', '/v2/tokens', 'xaat-wrong-4');
        expect(fourth.status).toBe(429);
        expect(fourth.headers.get('retry-after')).toMatch(/^\d+$/);
        // Requests per token: 12 at once, 6 on each replica, against 4 a second in all. Were the
        // counts per replica, 8 would pass (4 refused) whenever the burst fits in one second, and
        // more across a second boundary; shared, 4 pass (8 refused) unless a boundary falls among
        // them, which can let 8 pass. So more than 4 refused shows the count is the replicas'
        // together; a burst that met a boundary is tried again once the limit's Retry-After is over.
        let refused = 0;
        for (let attempt = 1; attempt <= 3 && refused <= 4; attempt++) {
          const answers = await Promise.all(
            Array.from({ length: 12 }, (_, i) =>
              call(i % 2 === 0 ? first : second, 'GET', '/v2/tokens?limit=1', secret),
            ),
          );
          const limited = answers.filter((answer) => answer.status === 429);
          refused = limited.length;
          expect(answers.filter((answer) => answer.status === 200).length + refused).toBe(12);
          if (refused > 4) break;
          const retryAfter = Math.max(
            1,
            ...limited.map((answer) => Number(answer.headers.get('retry-after'))),
          );
          await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
        }
        expect(refused).toBeGreaterThan(4);
      },
      PROCESS_TEST_TIMEOUT_MS,
    );
  });

  describe('faults', () => {
    it(
      'keeps every token answered 200 when its replica is killed -9 during a burst: another replica authenticates each',
      async () => {
        const durable = await newDatabase();
        const [doomed, survivor] = (await startReplicas(durable.url, 2)) as [ServerProcess, ServerProcess];
        const secret = await bootstrapSecret([doomed, survivor]);
        const answered: { id: string; token: string }[] = [];
        const burst = Array.from({ length: 600 }, async (_, i) => {
          try {
            const answer = await call(doomed, 'POST', '/v2/tokens', secret, {
              name: `burst-${i}`,
              orgCapabilities: { apiTokens: ['read'] },
            });
            if (answer.status === 200) answered.push(answer.body);
          } catch {
            // The connection died with the process: not acknowledged, so not counted.
          }
        });
        // Kill once a good part of the burst has been answered, mid-stream.
        await expect.poll(() => answered.length, { timeout: 20_000, interval: 5 }).toBeGreaterThan(100);
        doomed.child.kill('SIGKILL');
        await Promise.all(burst);
        expect(answered.length).toBeGreaterThan(100);
        for (const token of answered) {
          const seen = await call(survivor, 'GET', `/v2/tokens/${token.id}`, token.token);
          expect(seen.status, token.id).toBe(200);
        }
      },
      PROCESS_TEST_TIMEOUT_MS,
    );

    it(
      'answers 503 with Retry-After while PostgreSQL is unreachable, changes nothing, and recovers by itself',
      async () => {
        const faulty = await newDatabase();
        const target = new URL(pgTestUrl);
        const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
        proxies.push(proxy);
        const url = new URL(faulty.url);
        url.hostname = '127.0.0.1';
        url.port = String(proxy.port);
        const [server] = (await startReplicas(url.toString(), 1)) as [ServerProcess];
        const secret = await bootstrapSecret([server]);
        expect((await call(server, 'POST', '/v2/tokens', secret, { name: 'before' })).status).toBe(200);

        proxy.cut();
        const create = await call(server, 'POST', '/v2/tokens', secret, { name: 'during' });
        expect(create.status).toBe(503);
        expect(create.body).toEqual({
          code: 503,
          message: expect.stringMatching(/token store is unavailable/),
        });
        expect(create.headers.get('retry-after')).toMatch(/^\d+$/);
        const ready = await call(server, 'GET', '/readyz');
        expect(ready.status).toBe(503);
        expect(ready.body.code).toBe(503);
        expect((await call(server, 'GET', '/healthz')).status).toBe(200);

        proxy.restore();
        expect((await call(server, 'GET', '/readyz')).status).toBe(200);
        const listed = await call(server, 'GET', '/v2/tokens', secret);
        expect(listed.body.map((token: { name: string }) => token.name)).toEqual([
          'bootstrap-admin',
          'before',
        ]);
        expect((await call(server, 'POST', '/v2/tokens', secret, { name: 'after' })).status).toBe(200);
        expect(server.child.exitCode).toBeNull();
      },
      PROCESS_TEST_TIMEOUT_MS,
    );

    it(
      'loses no acknowledged token while PostgreSQL ends its connections under load (as a restart does), and recovers',
      async () => {
        const restarted = await newDatabase();
        const [server] = (await startReplicas(restarted.url, 1)) as [ServerProcess];
        const secret = await bootstrapSecret([server]);
        const answered: { id: string; token: string }[] = [];
        const statuses = new Set<number>();
        let creating = true;
        const creator = async () => {
          while (creating) {
            const answer = await call(server, 'POST', '/v2/tokens', secret, {
              name: 'under restart',
              orgCapabilities: { apiTokens: ['read'] },
            });
            statuses.add(answer.status);
            if (answer.status === 200) answered.push(answer.body);
            else expect(answer.headers.get('retry-after')).toMatch(/^\d+$/);
          }
        };
        const creators = Array.from({ length: 6 }, creator);
        // What a PostgreSQL shutdown does to each session (57P01), on this database's sessions only:
        // the server others use keeps running.
        const admin = new pg.Client({ connectionString: pgTestUrl });
        await admin.connect();
        try {
          for (let round = 0; round < 5; round++) {
            const before = answered.length;
            await expect.poll(() => answered.length, { timeout: 20_000 }).toBeGreaterThan(before + 20);
            await admin.query(
              'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
              [restarted.name],
            );
          }
          const before = answered.length;
          await expect.poll(() => answered.length, { timeout: 20_000 }).toBeGreaterThan(before + 20);
        } finally {
          creating = false;
          await admin.end();
        }
        await Promise.all(creators);
        expect([...statuses].every((status) => status === 200 || status === 503)).toBe(true);
        expect(server.child.exitCode).toBeNull();
        for (const token of answered) {
          const seen = await call(server, 'GET', `/v2/tokens/${token.id}`, token.token);
          expect(seen.status, token.id).toBe(200);
        }
      },
      PROCESS_TEST_TIMEOUT_MS,
    );

    it(
      'gives up at start-up after DATABASE_CONNECT_TIMEOUT with one line, naming where but not the password',
      async () => {
        const { code, stderr } = await runServerExpectingExit({
          DATABASE_URL: 'postgres://tokens:hunter2@127.0.0.1:1/tokens',
          DATABASE_CONNECT_TIMEOUT: '1s',
        });
        expect(code).toBe(1);
        expect(stderr).toMatch(
          /^api-tokens: cannot start: DATABASE_URL: cannot reach PostgreSQL at 127\.0\.0\.1:1\/tokens within 1 s \([^\n]*\)\n$/,
        );
        expect(stderr).not.toContain('hunter2');
      },
      PROCESS_TEST_TIMEOUT_MS,
    );
  });
});
