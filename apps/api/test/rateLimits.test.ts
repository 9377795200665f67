// Abuse limits: failed authentications per client address and requests per token answer 429 with Retry-After.
import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { createLogger } from '../src/logger.js';
import { SqliteTokenStore } from '../src/store/sqlite.js';
import { TokenService } from '../src/tokens/service.js';
import { expectAnswer } from './contract.js';
import { catalog, createHarness, spec } from './harness.js';

const UNKNOWN = `xaat-${'0'.repeat(43)}`;

/**
 * An app limiting failed authentications to `perMinute`, with Express's `trust proxy` set to
 * `trustProxy`, and its admin secret. (The shared harness has no trust proxy option.)
 */
async function appBehind(trustProxy: boolean | string[], perMinute: number) {
  const tokens = new TokenService({
    store: new SqliteTokenStore(':memory:'),
    catalog,
    clock: () => new Date(),
  });
  const admin = (await tokens.bootstrap())?.generatedSecret as string;
  const app = createApp({
    tokens,
    spec,
    logger: createLogger('silent'),
    validateResponses: true,
    rateLimits: { failedAuthPerMinute: perMinute, requestsPerTokenPerSecond: 0 },
    trustProxy,
  });
  /** GET /v2/tokens with `secret`, through a proxy that says the client is `client`. */
  const list = (secret: string, client: string) =>
    supertest(app)
      .get(`${spec.servers[0]?.url}/tokens`)
      .set('Authorization', `Bearer ${secret}`)
      .set('X-Forwarded-For', client);
  return { admin, list };
}

describe('failed authentication limit', () => {
  it('refuses failing attempts from an address past N failures in a minute, with Retry-After', async () => {
    const harness = await createHarness({
      rateLimits: { failedAuthPerMinute: 3, requestsPerTokenPerSecond: 0 },
    });
    for (let i = 0; i < 3; i++) await expectAnswer(harness.as(UNKNOWN).get('/tokens'), 'get', '/tokens', 401);
    const blocked = await expectAnswer(
      harness.as(UNKNOWN).get('/tokens'),
      'get',
      '/tokens',
      429,
      'failed authentications',
    );
    const retryAfter = Number(blocked.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    await expectAnswer(harness.as(undefined).get('/tokens'), 'get', '/tokens', 429);
  });

  it('never refuses a valid token from an address past the limit', async () => {
    const harness = await createHarness({
      rateLimits: { failedAuthPerMinute: 3, requestsPerTokenPerSecond: 0 },
    });
    for (let i = 0; i < 5; i++) await harness.as(UNKNOWN).get('/tokens');
    await expectAnswer(harness.as(UNKNOWN).get('/tokens'), 'get', '/tokens', 429);
    await expectAnswer(harness.as(harness.adminSecret).get('/tokens'), 'get', '/tokens', 200);
    const other = await harness.callerWith({ orgCapabilities: { apiTokens: ['read'] } });
    await expectAnswer(harness.as(other).get('/tokens'), 'get', '/tokens', 200);
  });

  it('with TRUST_PROXY naming the proxy, limits each client behind it apart, by X-Forwarded-For', async () => {
    const { admin, list } = await appBehind(['loopback'], 2);
    for (let i = 0; i < 2; i++) expect((await list(UNKNOWN, '203.0.113.1')).status).toBe(401);
    expect((await list(UNKNOWN, '203.0.113.1')).status).toBe(429);
    expect((await list(UNKNOWN, '203.0.113.2')).status).toBe(401);
    expect((await list(admin, '203.0.113.1')).status).toBe(200);
  });

  it("without TRUST_PROXY, ignores X-Forwarded-For: the limit is the TCP peer's", async () => {
    const { admin, list } = await appBehind(false, 2);
    for (let i = 0; i < 2; i++) expect((await list(UNKNOWN, '203.0.113.1')).status).toBe(401);
    expect((await list(UNKNOWN, '203.0.113.2')).status).toBe(429);
    expect((await list(admin, '203.0.113.3')).status).toBe(200);
  });

  it('does not count successful authentications', async () => {
    const harness = await createHarness({
      rateLimits: { failedAuthPerMinute: 2, requestsPerTokenPerSecond: 0 },
    });
    for (let i = 0; i < 20; i++)
      await expectAnswer(harness.as(harness.adminSecret).get('/tokens'), 'get', '/tokens', 200);
    await expectAnswer(harness.as(UNKNOWN).get('/tokens'), 'get', '/tokens', 401);
    await expectAnswer(harness.as(harness.adminSecret).get('/tokens'), 'get', '/tokens', 200);
  });

  it('counts missing and malformed headers as failures too', async () => {
    const harness = await createHarness({
      rateLimits: { failedAuthPerMinute: 2, requestsPerTokenPerSecond: 0 },
    });
    await expectAnswer(harness.as(undefined).get('/tokens'), 'get', '/tokens', 401);
    await expectAnswer(harness.as('not a token').get('/tokens'), 'get', '/tokens', 401);
    await expectAnswer(harness.as(undefined).get('/tokens'), 'get', '/tokens', 429);
  });

  it('is off when set to 0', async () => {
    const harness = await createHarness({
      rateLimits: { failedAuthPerMinute: 0, requestsPerTokenPerSecond: 0 },
    });
    for (let i = 0; i < 100; i++)
      await expectAnswer(harness.as(UNKNOWN).get('/tokens'), 'get', '/tokens', 401);
  });
});

describe('per-token request limit', () => {
  it('refuses a token beyond N requests in a second, and not another token', async () => {
    const harness = await createHarness({
      rateLimits: { failedAuthPerMinute: 0, requestsPerTokenPerSecond: 5 },
    });
    const other = await harness.callerWith({ orgCapabilities: { apiTokens: ['read'] } });
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => harness.as(harness.adminSecret).get('/tokens')),
    );
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses.filter((status) => status === 200)).toHaveLength(5);
    expect(statuses.filter((status) => status === 429)).toHaveLength(3);
    const limited = answers.find((answer) => answer.status === 429);
    expect(limited?.headers['retry-after']).toBe('1');
    expect(limited?.body).toEqual({
      code: 429,
      message: expect.stringContaining('too many requests with this token'),
    });
    await expectAnswer(harness.as(other).get('/tokens'), 'get', '/tokens', 200);
  });

  it('is off when set to 0', async () => {
    const harness = await createHarness({
      rateLimits: { failedAuthPerMinute: 0, requestsPerTokenPerSecond: 0 },
    });
    const answers = await Promise.all(
      Array.from({ length: 100 }, () => harness.as(harness.adminSecret).get('/tokens')),
    );
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
  });
});
