// getCurrentAPIToken, security: a live token is all it takes, and nothing else gets in.
import { beforeAll, describe, expect, it } from 'vitest';
import { expectAnswer } from '../../test/contract.js';
import { createHarness, type Harness } from '../../test/harness.js';
import { generateSecret } from '../tokens/secrets.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});

const self = (secret: string | undefined, status: number, message?: string | RegExp) =>
  expectAnswer(harness.as(secret).get('/tokens/self'), 'get', '/tokens/self', status, message);

describe('getCurrentAPIToken security', () => {
  it('refuses an anonymous caller with 401 and WWW-Authenticate', async () => {
    const answer = await self(undefined, 401, 'Authorization');
    expect(answer.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('refuses an unknown token with 401', () => self(generateSecret(), 401, /unknown, revoked or expired/));

  it('refuses a malformed Authorization header with 401', () =>
    expectAnswer(
      harness.as(undefined).get('/tokens/self').set('Authorization', 'Basic abc'),
      'get',
      '/tokens/self',
      401,
      /malformed/,
    ));

  it('refuses a deleted token with 401', async () => {
    const created = await harness.createToken(harness.adminSecret, { name: 'doomed' });
    await harness.as(harness.adminSecret).delete(`/tokens/${created.body.id}`).expect(204);
    await self(created.body.token, 401);
  });

  it('refuses an expired token with 401', async () => {
    const secret = await harness.callerWith({}, { expiresAt: '2030-01-01T00:00:01.000Z' });
    await self(secret, 200);
    harness.clock.advance(1000);
    await self(secret, 401);
  });

  it('needs no capability: a token without apiTokens:read reads itself, and only itself', async () => {
    const secret = await harness.callerWith({ datasetCapabilities: { logs: { query: ['read'] } } });
    const answer = await self(secret, 200);
    expect(answer.body.datasetCapabilities).toEqual({ logs: { query: ['read'] } });
    await expectAnswer(
      harness.as(secret).get(`/tokens/${harness.admin.id}`),
      'get',
      '/tokens/{id}',
      403,
      /orgCapabilities\.apiTokens/,
    );
  });
});
