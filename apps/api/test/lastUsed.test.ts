// apiLastUsed: null until a token is used, then when it was, written at most once a minute per token and never lost.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiToken } from '@api-tokens/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { USE_FLUSH_DELAY_MS, USE_RECORD_INTERVAL_MS } from '../src/tokens/usage.js';
import { expectAnswer } from './contract.js';
import { createHarness, type Harness } from './harness.js';
import {
  PROCESS_EVENT_BOUND_MS,
  PROCESS_TEST_TIMEOUT_MS,
  type ServerProcess,
  startServer,
} from './process.js';

let harness: Harness;

const get = async (id: string) =>
  (await expectAnswer(harness.as(harness.adminSecret).get(`/tokens/${id}`), 'get', '/tokens/{id}', 200)).body;

/** A token that may list tokens, so that a use is one GET. */
async function createToken() {
  const answer = await expectAnswer(
    harness.createToken(harness.adminSecret, { name: 'used', orgCapabilities: { apiTokens: ['read'] } }),
    'post',
    '/tokens',
    200,
  );
  return answer.body;
}

const use = (secret: string) =>
  expectAnswer(harness.as(secret).get('/tokens?limit=1'), 'get', '/tokens', 200);

describe('apiLastUsed', () => {
  beforeEach(async () => {
    harness = await createHarness();
  });

  it('is null until the first use, and create answers what get and list answer until then', async () => {
    const { token: _secret, ...created } = await createToken();
    expect(created.apiLastUsed).toBeNull();
    expect(created.createdAt).toBe(harness.clock().toISOString());
    await harness.tokens.flush();
    expect(await get(created.id)).toEqual(created);
    const listed = (await harness.as(harness.adminSecret).get('/tokens')).body;
    expect(listed).toContainEqual(created);
  });

  it('is the time of the first use once the token authenticated a request', async () => {
    const created = await createToken();
    harness.clock.advance(5000);
    const usedAt = harness.clock().toISOString();
    await use(created.token);
    await harness.tokens.flush();
    expect((await get(created.id)).apiLastUsed).toBe(usedAt);
  });

  it('is written once a minute per token however often it is used: one conditional write, not one per request', async () => {
    const created = await createToken();
    const writes = vi.spyOn(harness.store, 'recordUses');
    const firstUse = harness.clock().toISOString();
    for (let i = 0; i < 20; i++) {
      await use(created.token);
      harness.clock.advance(1000);
    }
    await harness.tokens.flush();
    expect((await get(created.id)).apiLastUsed).toBe(firstUse);
    const usesWritten = (id: string) =>
      writes.mock.calls.flatMap(([uses]) => uses).filter((written) => written.id === id).length;
    expect(usesWritten(created.id)).toBe(1);

    harness.clock.advance(USE_RECORD_INTERVAL_MS - 20_000); // a minute after the first use
    const minuteLater = harness.clock().toISOString();
    await use(created.token);
    await harness.tokens.flush();
    expect((await get(created.id)).apiLastUsed).toBe(minuteLater);
    expect(usesWritten(created.id)).toBe(2);
  });

  it('counts a verification as a use of the verified token', async () => {
    const created = await createToken();
    const service = await harness.callerWith({ orgCapabilities: { apiTokens: ['read'] } });
    harness.clock.advance(2000);
    await expectAnswer(
      harness.as(service).post('/tokens/verify', { token: created.token }),
      'post',
      '/tokens/verify',
      200,
    );
    await harness.tokens.flush();
    expect((await get(created.id)).apiLastUsed).toBe(harness.clock().toISOString());
  });

  it('is as fresh in a verdict, answered from the auth cache, as in the store: within a minute of the latest use', async () => {
    const created = await createToken();
    const service = await harness.callerWith({ orgCapabilities: { apiTokens: ['read'] } });
    const verdict = async () =>
      (
        await expectAnswer(
          harness.as(service).post('/tokens/verify', { token: created.token }),
          'post',
          '/tokens/verify',
          200,
        )
      ).body.token.apiLastUsed;
    await use(created.token); // cached now, with no use recorded
    for (let minute = 1; minute <= 3; minute++) {
      harness.clock.advance(USE_RECORD_INTERVAL_MS);
      const latest = harness.clock().toISOString();
      expect(await verdict()).toBe(latest);
      harness.clock.advance(30_000);
      expect(await verdict()).toBe(latest); // written at most once a minute
      await harness.tokens.flush();
      expect((await get(created.id)).apiLastUsed).toBe(latest);
    }
  });

  it('is written by itself a moment after a single use, with nothing else to flush it', async () => {
    const created = await createToken();
    await use(created.token);
    await vi.waitFor(
      async () => {
        expect((await get(created.id)).apiLastUsed).not.toBeNull();
      },
      { timeout: 20 * USE_FLUSH_DELAY_MS, interval: 100 },
    );
  });

  it('a refused write is retried, not lost', async () => {
    const created = await createToken();
    const writes = vi.spyOn(harness.store, 'recordUses').mockRejectedValueOnce(new Error('disk full'));
    await use(created.token);
    await harness.tokens.flush(); // fails, and is queued again
    await harness.tokens.flush();
    expect(writes).toHaveBeenCalledTimes(2);
    expect((await get(created.id)).apiLastUsed).toBe(harness.clock().toISOString());
  });
});

describe('apiLastUsed across a clean stop', () => {
  let dir: string;
  let server: ServerProcess | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'api-tokens-last-used-'));
  });
  afterEach(async () => {
    await server?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'writes the uses of the last second before the process exits',
    async () => {
      const admin = 'xaat-lastUsedAdminSecret0123456789012345678901231skRqD';
      const env = { DATABASE_URL: `sqlite:${join(dir, 'tokens.db')}`, BOOTSTRAP_TOKEN: admin };
      const headers = { Authorization: `Bearer ${admin}` };
      server = await startServer(env);
      expect((await fetch(`${server.baseUrl}/v2/tokens`, { headers })).status).toBe(200);
      // Straight away: the use is still queued when SIGTERM arrives.
      expect(await server.stop('SIGTERM')).toBe(0);
      server = await startServer(env);
      const tokens = (await (await fetch(`${server.baseUrl}/v2/tokens`, { headers })).json()) as ApiToken[];
      expect(tokens).toHaveLength(1);
      expect(tokens[0]?.apiLastUsed).not.toBeNull();
    },
    PROCESS_TEST_TIMEOUT_MS + PROCESS_EVENT_BOUND_MS,
  );
});
