// Abuse limits: failed authentications per client address and requests per token answer 429 with Retry-After.
import { describe, expect, it } from 'vitest';
import { expectAnswer } from './contract.js';
import { createHarness } from './harness.js';

const UNKNOWN = `xaat-${'0'.repeat(43)}`;

describe('failed authentication limit', () => {
  it('refuses an address after N failures in a minute, even with a good token, until the window ends', async () => {
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
    await expectAnswer(harness.as(harness.adminSecret).get('/tokens'), 'get', '/tokens', 429);
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
