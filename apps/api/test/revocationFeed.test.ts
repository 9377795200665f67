// The revocation feed across real replicas on PostgreSQL: caches on (AUTH_CACHE_TTL), every revocation refused everywhere once its event is out, and a lost LISTEN connection empties the cache.
import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, pgSkipped, type TestDatabase } from './postgres.js';
import {
  callServer as call,
  PROCESS_EVENT_BOUND_MS,
  PROCESS_TEST_TIMEOUT_MS,
  type ServerProcess,
  startServer,
} from './process.js';
import { openStream, type SseStream } from './sse.js';

const SECRET = /xaat-[0-9A-Za-z]{49}|xaat-[A-Za-z0-9_-]{43}/;

const running: ServerProcess[] = [];
const streams: SseStream[] = [];
const databases: TestDatabase[] = [];
afterEach(async () => {
  for (const stream of streams.splice(0)) stream.close();
  await Promise.all(running.splice(0).map((server) => server.stop('SIGKILL')));
}, PROCESS_TEST_TIMEOUT_MS);
afterAll(async () => {
  await Promise.all(databases.splice(0).map((database) => database.drop()));
}, PROCESS_TEST_TIMEOUT_MS);

const digestOf = (secret: string) => createHash('sha256').update(secret).digest('base64url');

/** Two replicas with the auth cache on, both hearing the feed; the bootstrap secret. */
async function twoCachingReplicas() {
  const database = await createTestDatabase();
  databases.push(database);
  const env = {
    DATABASE_URL: database.url,
    AUTH_CACHE_TTL: '10m',
    RATE_LIMIT_FAILED_AUTH_PER_MIN: '0',
    RATE_LIMIT_PER_TOKEN_PER_SEC: '0',
  };
  // One after the other, so that the first bootstraps and prints the secret.
  const a = await startServer(env);
  running.push(a);
  const b = await startServer(env);
  running.push(b);
  await Promise.all([a, b].map((replica) => replica.logged(/revocation feed: listening/)));
  const secret = SECRET.exec(a.stderr())?.[0];
  if (secret === undefined) throw new Error('replica A printed no bootstrap secret');
  return { database, a, b, secret };
}

async function createToken(on: ServerProcess, admin: string, name: string) {
  const answer = await call(on, 'POST', '/v2/tokens', admin, {
    name,
    orgCapabilities: { apiTokens: ['read'] },
  });
  expect(answer.status).toBe(200);
  return { id: answer.body.id as string, secret: answer.body.token as string };
}

async function stream(on: ServerProcess, secret: string, lastEventId?: string) {
  const opened = await openStream(`${on.baseUrl}/v2/tokens/revocations`, { secret, lastEventId });
  streams.push(opened);
  expect(opened.status).toBe(200);
  return opened;
}

/** The next revocation event on `on`'s stream that names `secret`'s digest. */
async function revocationOf(opened: SseStream, secret: string) {
  for (;;) {
    const event = await opened.next(PROCESS_EVENT_BOUND_MS);
    if (
      event.event === 'message' &&
      (JSON.parse(event.data) as { digests: string[] }).digests.includes(digestOf(secret))
    )
      return event;
  }
}

/** Deletes a token's row behind every replica's back: no NOTIFY, so only a store read can notice. */
async function deleteRowQuietly(database: TestDatabase, id: string) {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query('DELETE FROM tokens WHERE id = $1', [id]);
  } finally {
    await client.end();
  }
}

describe.skipIf(pgSkipped)('the revocation feed across replicas (AUTH_CACHE_TTL on)', () => {
  it(
    'a token deleted on replica A is refused by replica B, whose cache held it, once B has sent the revocation',
    async () => {
      const { database, a, b, secret } = await twoCachingReplicas();
      const user = await createToken(a, secret, 'user');
      expect((await call(b, 'GET', '/v2/tokens/self', user.secret)).status).toBe(200);
      // B's cache holds it: a row deleted without a NOTIFY is still accepted there.
      const quiet = await createToken(a, secret, 'quiet');
      expect((await call(b, 'GET', '/v2/tokens/self', quiet.secret)).status).toBe(200);
      await deleteRowQuietly(database, quiet.id);
      expect((await call(b, 'GET', '/v2/tokens', quiet.secret)).status, 'cached on B').toBe(200);

      const feed = await stream(b, secret);
      expect((await call(a, 'DELETE', `/v2/tokens/${user.id}`, secret)).status).toBe(204);
      await revocationOf(feed, user.secret);
      expect((await call(b, 'GET', '/v2/tokens', user.secret)).status).toBe(401);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'names each revocation alike on every replica: an id read on B resumes on A',
    async () => {
      const { a, b, secret } = await twoCachingReplicas();
      const [first, second] = [await createToken(a, secret, 'first'), await createToken(a, secret, 'second')];
      const onB = await stream(b, secret);
      expect((await call(b, 'DELETE', `/v2/tokens/${first.id}`, secret)).status).toBe(204);
      const seen = await revocationOf(onB, first.secret);
      expect((await call(b, 'DELETE', `/v2/tokens/${second.id}`, secret)).status).toBe(204);
      const next = await revocationOf(onB, second.secret);
      onB.close();
      const onA = await stream(a, secret, seen.id);
      const resumed = await onA.next(PROCESS_EVENT_BOUND_MS);
      expect(resumed.id).toBe(next.id);
      expect(JSON.parse(resumed.data).digests).toEqual([digestOf(second.secret)]);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'a replica whose LISTEN connection is killed empties its cache (no stale acceptance), ends its streams, and listens again',
    async () => {
      const { database, b, secret } = await twoCachingReplicas();
      const user = await createToken(b, secret, 'user');
      expect((await call(b, 'GET', '/v2/tokens/self', user.secret)).status).toBe(200);
      await deleteRowQuietly(database, user.id);
      expect((await call(b, 'GET', '/v2/tokens', user.secret)).status, 'cached on B').toBe(200);
      const feed = await stream(b, secret);

      const admin = new pg.Client({ connectionString: database.url });
      await admin.connect();
      try {
        // Both replicas' LISTEN sessions: B's cache is the one under test, A's loss is harmless.
        const killed = await admin.query<{ ended: boolean }>(
          `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
            WHERE datname = $1 AND application_name = 'api-tokens-listen'`,
          [database.name],
        );
        expect(killed.rows.length).toBeGreaterThan(0);
      } finally {
        await admin.end();
      }
      await b.logged(/revocation feed lost/);
      await feed.ended;
      // The cached token is gone with the cache: B reads the store, which no longer has it.
      expect((await call(b, 'GET', '/v2/tokens', user.secret)).status).toBe(401);
      // Listening again: the feed can be read once more.
      await vi.waitFor(
        async () => {
          const again = await openStream(`${b.baseUrl}/v2/tokens/revocations`, { secret });
          streams.push(again);
          expect(again.status).toBe(200);
        },
        { timeout: PROCESS_EVENT_BOUND_MS, interval: 100 },
      );
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
