// The maximum lifetime (MAX_TOKEN_LIFETIME): create and regenerate refuse an expiry beyond now plus the cap, or none, naming it; GET /tokens/policy tells the cap; the bootstrap admin is exempt.
import { beforeEach, describe, expect, it } from 'vitest';
import { expectAnswer } from './contract.js';
import { createHarness, type Harness } from './harness.js';

let harness: Harness;

const DAY = 86_400_000;
const CAP = 90 * DAY;
const at = (ms: number) => new Date(harness.clock().getTime() + ms).toISOString();

describe('with MAX_TOKEN_LIFETIME', () => {
  beforeEach(async () => {
    harness = await createHarness({ maxLifetimeMs: CAP });
  });

  it('creates a token expiring exactly at now plus the cap, and refuses a millisecond more, naming the cap', async () => {
    await expectAnswer(
      harness.createToken(harness.adminSecret, { name: 'at cap', expiresAt: at(CAP) }),
      'post',
      '/tokens',
      200,
    );
    const before = await harness.store.count();
    await expectAnswer(
      harness.createToken(harness.adminSecret, { name: 'past cap', expiresAt: at(CAP + 1) }),
      'post',
      '/tokens',
      400,
      `body.expiresAt: must be at most 90d from now (MAX_TOKEN_LIFETIME), so no later than ${at(CAP)}`,
    );
    expect(await harness.store.count()).toBe(before);
  });

  it.each([
    ['absent', {}],
    ['null', { expiresAt: null }],
    ["Go's zero time", { expiresAt: '0001-01-01T00:00:00Z' }],
  ])('refuses a token that never expires (expiresAt %s), naming the cap', async (_, expiry) => {
    await expectAnswer(
      harness.createToken(harness.adminSecret, { name: 'for ever', ...expiry }),
      'post',
      '/tokens',
      400,
      /^body\.expiresAt: must be set: tokens on this server live at most 90d \(MAX_TOKEN_LIFETIME\)/,
    );
  });

  it('holds on regenerate, naming the field the expiry came from', async () => {
    const created = await harness.createToken(harness.adminSecret, { name: 'rotated', expiresAt: at(DAY) });
    const regenerate = (body: object) =>
      harness.as(harness.adminSecret).post(`/tokens/${created.body.id}/regenerate`, {
        existingTokenExpiresAt: at(0),
        ...body,
      });
    await expectAnswer(
      regenerate({ newTokenExpiresAt: null }),
      'post',
      '/tokens/{id}/regenerate',
      400,
      /^body\.newTokenExpiresAt: must be set/,
    );
    await expectAnswer(
      regenerate({ newToken: { name: 'rotated', expiresAt: at(CAP + 1) } }),
      'post',
      '/tokens/{id}/regenerate',
      400,
      /^body\.newToken\.expiresAt: must be at most 90d from now/,
    );
    // The copied expiry is within the cap, from now: accepted.
    await expectAnswer(regenerate({}), 'post', '/tokens/{id}/regenerate', 200);
  });

  it('refuses to regenerate a copy of a token that never expires (the bootstrap admin, exempt itself)', async () => {
    const self = await harness.as(harness.adminSecret).get('/tokens/self');
    expect(self.body.expiresAt).toBeNull();
    await expectAnswer(
      harness
        .as(harness.adminSecret)
        .post(`/tokens/${self.body.id}/regenerate`, { existingTokenExpiresAt: at(DAY) }),
      'post',
      '/tokens/{id}/regenerate',
      400,
      /^body\.newTokenExpiresAt: must be set/,
    );
  });

  it('exempts the recovered admin token (api-tokens admin recover): it never expires', async () => {
    const recovered = await harness.tokens.recoverAdmin('recovered-admin', 'recovered');
    expect(recovered.token.expiresAt).toBeNull();
    await expectAnswer(harness.as(recovered.secret).get('/tokens/self'), 'get', '/tokens/self', 200);
  });

  it('answers the cap in seconds at GET /tokens/policy, to any live token', async () => {
    const anyToken = await harness.callerWith({}, { expiresAt: at(DAY) });
    const answer = await expectAnswer(
      harness.as(anyToken).get('/tokens/policy'),
      'get',
      '/tokens/policy',
      200,
    );
    expect(answer.body).toEqual({ maxLifetimeSeconds: CAP / 1000 });
  });
});

describe('without MAX_TOKEN_LIFETIME', () => {
  beforeEach(async () => {
    harness = await createHarness();
  });

  it('answers no cap at GET /tokens/policy, and a token may never expire', async () => {
    const answer = await expectAnswer(
      harness.as(harness.adminSecret).get('/tokens/policy'),
      'get',
      '/tokens/policy',
      200,
    );
    expect(answer.body).toEqual({ maxLifetimeSeconds: null });
    await expectAnswer(
      harness.createToken(harness.adminSecret, { name: 'for ever' }),
      'post',
      '/tokens',
      200,
    );
  });

  it('answers GET /tokens/policy only to a live token', async () => {
    await expectAnswer(harness.as(undefined).get('/tokens/policy'), 'get', '/tokens/policy', 401);
  });
});
