// Webhooks across real server processes: nothing lost or sent twice when a server is killed with SIGKILL and restarted, and replicas on PostgreSQL share the outbox.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { generateSecret } from '../src/tokens/secrets.js';
import { createTestDatabase, pgSkipped, type TestDatabase } from './postgres.js';
import {
  callServer,
  PROCESS_EVENT_BOUND_MS,
  PROCESS_TEST_TIMEOUT_MS,
  runServerExpectingExit,
  type ServerProcess,
  startServer,
} from './process.js';
import { bodyOf, deliveredIds, idOf, type Receiver, startReceiver } from './webhookReceiver.js';

const WEBHOOK_SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const ADMIN = generateSecret();

const running: ServerProcess[] = [];
const receivers: Receiver[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop('SIGKILL')));
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function receiver(): Promise<Receiver> {
  const started = await startReceiver();
  receivers.push(started);
  return started;
}

async function start(env: Record<string, string>): Promise<ServerProcess> {
  const server = await startServer({
    BOOTSTRAP_TOKEN: ADMIN,
    WEBHOOK_SECRET,
    WEBHOOK_RETRY_BASE: '1s',
    RATE_LIMIT_FAILED_AUTH_PER_MIN: '0',
    RATE_LIMIT_PER_TOKEN_PER_SEC: '0',
    METRICS: 'off',
    ...env,
  });
  running.push(server);
  return server;
}

const createToken = async (server: ServerProcess, name: string): Promise<string> => {
  const answer = await callServer(server, 'POST', '/v2/tokens', ADMIN, { name });
  expect(answer.status).toBe(200);
  return answer.body.id as string;
};

/** The webhook-ids of token.created events for these token ids, as the body names them. */
const createdFor = (hooks: Receiver, tokenIds: readonly string[]) =>
  hooks.received.filter((request) => {
    const body = bodyOf(request);
    return body.type === 'token.created' && tokenIds.includes(body.data.target.tokenId);
  });

/** Waits until the server records every delivery as delivered: after that, nothing can be sent again. */
async function allRecordedDelivered(server: ServerProcess, count: number): Promise<void> {
  await vi.waitFor(
    async () => {
      const answer = await callServer(server, 'GET', '/v2/webhooks/deliveries?limit=1000', ADMIN);
      const statuses = (answer.body as { status: string }[]).map((delivery) => delivery.status);
      if (statuses.length !== count || statuses.some((status) => status !== 'delivered'))
        throw new Error(`deliveries not all recorded delivered yet: ${statuses.join(', ')}`);
    },
    { timeout: PROCESS_EVENT_BOUND_MS, interval: 100 },
  );
}

describe('webhooks across server processes', () => {
  it(
    'loses nothing and sends nothing twice to a receiver that answered 2xx, across a SIGKILL and a restart',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'api-tokens-webhooks-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const hooks = await receiver();
      const env = { DATABASE_URL: `sqlite:${join(dir, 'tokens.db')}`, WEBHOOK_URLS: hooks.url };
      const first = await start(env);

      // Delivered and recorded before the kill: must never come again.
      const before = await createToken(first, 'before-the-kill');
      await allRecordedDelivered(first, 1);

      // Then the receiver fails, so that these stay in the outbox, tried at least once each.
      hooks.answer = () => 503;
      const pending = [
        await createToken(first, 'pending-1'),
        await createToken(first, 'pending-2'),
        await createToken(first, 'pending-3'),
      ];
      await hooks.waitFor(() => new Set(createdFor(hooks, pending).map(idOf)).size === pending.length);
      await first.stop('SIGKILL');

      hooks.answer = () => 200;
      const second = await start(env);
      await hooks.waitFor(
        () => new Set(deliveredIds(createdFor(hooks, pending))).size === pending.length,
        PROCESS_EVENT_BOUND_MS,
      );
      await allRecordedDelivered(second, 4);

      const delivered = deliveredIds(hooks.received);
      expect(delivered.sort()).toEqual([...new Set(delivered)].sort());
      expect(delivered).toHaveLength(4);
      expect(createdFor(hooks, [before])).toHaveLength(1);
      const verifier = new Webhook(WEBHOOK_SECRET);
      for (const request of hooks.received)
        expect(() => verifier.verify(request.body, request.headers as Record<string, string>)).not.toThrow();
      // Every attempt of one event carried the same webhook-id.
      for (const tokenId of pending) expect(new Set(createdFor(hooks, [tokenId]).map(idOf)).size).toBe(1);
    },
    2 * PROCESS_TEST_TIMEOUT_MS,
  );

  it('refuses to start with a WEBHOOK_SECRET not in Standard Webhooks form, without echoing it', async () => {
    const secret = `whsec_${randomBytes(8).toString('base64')}`;
    const { code, stderr } = await runServerExpectingExit({
      DATABASE_URL: 'sqlite::memory:',
      WEBHOOK_URLS: 'https://hooks.example/a',
      WEBHOOK_SECRET: secret,
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^api-tokens: cannot start: WEBHOOK_SECRET: [^\n]*\n$/);
    expect(stderr).not.toContain(secret.slice(6));
  });

  describe.skipIf(pgSkipped)('on PostgreSQL', () => {
    let database: TestDatabase;

    it(
      'delivers each event once when two replicas share the outbox and nothing fails',
      async () => {
        database = await createTestDatabase();
        cleanups.push(() => database.drop());
        const hooks = await receiver();
        const env = {
          DATABASE_URL: database.url,
          WEBHOOK_URLS: hooks.url,
          AUTH_CACHE_SIZE: '0',
          METRICS: 'on',
        };
        const replicas = [await start(env), await start(env)];
        const tokenIds: string[] = [];
        for (let index = 0; index < 20; index++)
          tokenIds.push(await createToken(replicas[index % 2] as ServerProcess, `replicated-${index}`));
        await hooks.waitFor(
          () => new Set(deliveredIds(createdFor(hooks, tokenIds))).size === tokenIds.length,
          PROCESS_EVENT_BOUND_MS,
        );
        await allRecordedDelivered(replicas[0] as ServerProcess, tokenIds.length);
        expect(hooks.received).toHaveLength(tokenIds.length);
        expect(new Set(hooks.received.map(idOf)).size).toBe(tokenIds.length);

        // The metrics agree: the replicas' delivered attempts add up to the events, and the outbox is empty.
        const scraped = await Promise.all(
          replicas.map(async (replica) => (await fetch(`${replica.metricsUrl}/metrics`)).text()),
        );
        const sample = (text: string, pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);
        const delivered = scraped.map((text) =>
          sample(text, /^api_tokens_webhook_deliveries_total\{outcome="delivered"\} (\d+)$/m),
        );
        expect(delivered.reduce((sum, count) => sum + count, 0)).toBe(tokenIds.length);
        for (const text of scraped) expect(text).toMatch(/^api_tokens_webhook_outbox_depth 0$/m);
      },
      PROCESS_TEST_TIMEOUT_MS,
    );
  });
});
