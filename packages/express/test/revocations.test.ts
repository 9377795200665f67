// requireToken({ revocations: true }) against a real api-tokens server: verdicts cached for minutes, dropped as revocations arrive, and all of them when the stream is cut.
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiToken, createClient, deleteApiToken } from '@api-tokens/client';
import express from 'express';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  PROCESS_EVENT_BOUND_MS,
  PROCESS_TEST_TIMEOUT_MS,
  type ServerProcess,
  startServer,
} from '../../../apps/api/test/process.js';
import { startTcpProxy, type TcpProxy } from '../../../apps/api/test/tcpProxy.js';
import { requireToken, type TokenGuard } from '../src/index.js';

const ADMIN = 'xaat-expressGuardTestAdmin01234567890123456789012oYUNp';

let tokenServer: ServerProcess;
let dir: string;
let directBaseUrl: string;
const admin = () => createClient({ baseUrl: directBaseUrl, auth: ADMIN });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'api-tokens-express-feed-'));
  tokenServer = await startServer({
    DATABASE_URL: `sqlite:${join(dir, 'tokens.db')}`,
    BOOTSTRAP_TOKEN: ADMIN,
    RATE_LIMIT_PER_TOKEN_PER_SEC: '0',
  });
  directBaseUrl = `${tokenServer.baseUrl}/v2`;
}, PROCESS_TEST_TIMEOUT_MS);
afterAll(async () => {
  await tokenServer?.stop();
  rmSync(dir, { recursive: true, force: true });
}, PROCESS_TEST_TIMEOUT_MS);

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}, PROCESS_TEST_TIMEOUT_MS);

async function createUser(name: string) {
  const { data } = await createApiToken({ client: admin(), body: { name }, throwOnError: true });
  return { id: data.id, secret: data.token };
}

const revoke = (id: string) => deleteApiToken({ client: admin(), path: { id }, throwOnError: true });

/**
 * A receiving service guarded with a ten-minute verdict cache and the revocation feed, reaching
 * the token service at `baseUrl`; `feed` records what the guard said of its stream.
 */
async function startConsumer(baseUrl: string) {
  const feed: boolean[] = [];
  const guard: TokenGuard = requireToken({
    baseUrl,
    serviceToken: ADMIN,
    cacheTtlMs: 10 * 60_000,
    revocations: true,
    onRevocationFeed: ({ open }) => feed.push(open),
  });
  const app = express();
  app.get('/any', guard, (req, res) => {
    res.json({ id: req.apiToken?.id });
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  cleanups.push(async () => {
    guard.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/any`;
  const status = async (secret: string) =>
    (await fetch(url, { headers: { Authorization: `Bearer ${secret}` } })).status;
  const waitFor = (state: boolean, count: number) =>
    vi.waitFor(() => expect(feed.filter((open) => open === state).length).toBeGreaterThanOrEqual(count), {
      timeout: PROCESS_EVENT_BOUND_MS,
      interval: 10,
    });
  await waitFor(true, 1);
  return { status, feed, waitFor };
}

describe('requireToken({ revocations: true })', () => {
  it(
    'refuses a revoked token at once although its verdict was cached for ten minutes',
    async () => {
      const consumer = await startConsumer(directBaseUrl);
      const user = await createUser('revoked while cached');
      expect(await consumer.status(user.secret)).toBe(200);
      await revoke(user.id);
      // Refused long before the ten-minute TTL: the revocation evicted the verdict.
      await vi.waitFor(async () => expect(await consumer.status(user.secret)).toBe(401), {
        timeout: PROCESS_EVENT_BOUND_MS,
        interval: 10,
      });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'drops every cached verdict when its stream is cut, accepts nothing stale, and follows again once back',
    async () => {
      const target = new URL(tokenServer.baseUrl);
      const proxy: TcpProxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
      cleanups.push(() => proxy.close());
      const consumer = await startConsumer(`http://127.0.0.1:${proxy.port}/v2`);
      const user = await createUser('revoked while the stream is cut');
      expect(await consumer.status(user.secret)).toBe(200);

      proxy.cut();
      await consumer.waitFor(false, 1);
      // Revoked while the guard cannot hear it.
      await revoke(user.id);
      // Without its cache, the guard asks the token service, which it cannot reach: 503, never 200.
      expect(await consumer.status(user.secret)).toBe(503);
      proxy.restore();
      await consumer.waitFor(true, 2);
      expect(await consumer.status(user.secret)).toBe(401);
      // Following again: a token cached now is dropped when revoked.
      const other = await createUser('revoked after the stream is back');
      expect(await consumer.status(other.secret)).toBe(200);
      await revoke(other.id);
      await vi.waitFor(async () => expect(await consumer.status(other.secret)).toBe(401), {
        timeout: PROCESS_EVENT_BOUND_MS,
        interval: 10,
      });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
