// requireToken({ revocations: true }) against a fake token service whose feed and verdicts the test writes: a replica that has not yet heard a revocation, and `reset`.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { type ApiToken, generateSecret } from '@api-tokens/client';
import express from 'express';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { requireToken, type TokenGuard } from '../src/index.js';
import { digestOf } from '../src/verdictCache.js';

/** Generous: what the guard does on an event takes milliseconds, but the machine is shared. */
const EVENT_BOUND_MS = 20_000;

const token: ApiToken = {
  id: '5f0c6f39-0c55-4a43-9d3f-3d1f3e6a2b7c',
  name: 'shipper',
  description: '',
  expiresAt: null,
  datasetCapabilities: {},
  orgCapabilities: {},
  viewCapabilities: {},
  samlAuthenticated: false,
  createdAt: '2026-11-29T09:00:00.000Z',
  apiLastUsed: null,
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * A token service that answers every verification VALID (as a replica that has not heard of any
 * revocation would) and counts them per secret, and whose feed sends what the test writes.
 */
async function startFakeTokenService() {
  const verifications = new Map<string, number>();
  let stream: ServerResponse | undefined;
  const url = await listen((req, res) => {
    if (req.method === 'GET' && req.url === '/v2/tokens/revocations') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
      res.write(': open\n\n');
      stream = res;
      return;
    }
    if (req.method === 'POST' && req.url === '/v2/tokens/verify') {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        body += chunk;
      });
      req.on('end', () => {
        const secret = (JSON.parse(body) as { token: string }).token;
        verifications.set(secret, (verifications.get(secret) ?? 0) + 1);
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ valid: true, code: 'VALID', token }));
      });
      return;
    }
    res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"code":404,"message":"not here"}');
  });
  return {
    baseUrl: `${url}/v2`,
    verifications: (secret: string) => verifications.get(secret) ?? 0,
    /** Sends one raw SSE event on the open feed. */
    send(event: string) {
      if (stream === undefined) throw new Error('the guard is not following the feed');
      stream.write(event);
    },
  };
}

/** Polls `check`, one call at a time, until it is true: within EVENT_BOUND_MS, or fails. */
async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + EVENT_BOUND_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not so within ${EVENT_BOUND_MS} ms`);
    await delay(5);
  }
}

/** A receiving service guarded with a ten-minute cache and the feed; `feed` records what the guard said of its stream. */
async function startConsumer(baseUrl: string) {
  const feed: boolean[] = [];
  const guard: TokenGuard = requireToken({
    baseUrl,
    serviceToken: generateSecret(),
    cacheTtlMs: 10 * 60_000,
    revocations: true,
    onRevocationFeed: ({ open }) => feed.push(open),
  });
  cleanups.push(() => guard.close());
  const app = express();
  app.get('/any', guard, (_req, res) => {
    res.json({});
  });
  const url = await listen(app);
  const status = async (secret: string) =>
    (await fetch(`${url}/any`, { headers: { Authorization: `Bearer ${secret}` } })).status;
  const waitForFeed = (states: boolean[]) =>
    vi.waitFor(() => expect(feed).toEqual(states), { timeout: EVENT_BOUND_MS, interval: 10 });
  await waitForFeed([true]);
  return { status, waitForFeed };
}

describe('requireToken({ revocations: true }) and what its feed says', () => {
  it('keeps no VALID verdict for a secret revoked within the last minute, as one from a replica behind the feed; others are kept', async () => {
    const service = await startFakeTokenService();
    const consumer = await startConsumer(service.baseUrl);
    const revoked = generateSecret();
    const other = generateSecret();
    expect(await consumer.status(revoked)).toBe(200);
    expect(await consumer.status(revoked)).toBe(200);
    expect(service.verifications(revoked)).toBe(1);

    service.send(
      `id: 1\ndata: ${JSON.stringify({ digests: [digestOf(revoked)], at: new Date().toISOString() })}\n\n`,
    );
    // Heard once the cached verdict is gone: a request is verified again, by a replica that has not
    // yet heard of the revocation and still answers VALID. (One request at a time: two at once could
    // both miss the cache.)
    await until(async () => {
      expect(await consumer.status(revoked)).toBe(200);
      return service.verifications(revoked) === 2;
    });
    // That VALID was not kept: the request after it is verified again.
    await consumer.status(revoked);
    expect(service.verifications(revoked)).toBe(3);

    // Another secret's verdict is kept as before.
    expect(await consumer.status(other)).toBe(200);
    expect(await consumer.status(other)).toBe(200);
    expect(service.verifications(other)).toBe(1);
  });

  it('empties its cache on `reset`: a request after it is verified again', async () => {
    const service = await startFakeTokenService();
    const consumer = await startConsumer(service.baseUrl);
    const secret = generateSecret();
    expect(await consumer.status(secret)).toBe(200);
    expect(await consumer.status(secret)).toBe(200);
    expect(service.verifications(secret)).toBe(1);

    service.send(`event: reset\nid:\ndata: ${JSON.stringify({ at: new Date().toISOString() })}\n\n`);
    // Lost, and at once following again on the same stream.
    await consumer.waitForFeed([true, false, true]);
    expect(await consumer.status(secret)).toBe(200);
    expect(service.verifications(secret)).toBe(2);
    // Cached again from then on.
    expect(await consumer.status(secret)).toBe(200);
    expect(service.verifications(secret)).toBe(2);
  });
});
