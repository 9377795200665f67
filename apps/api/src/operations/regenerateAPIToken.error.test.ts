// regenerateAPIToken, bad requests: each a 4xx naming the field, leaving the token as it was.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectAnswer } from '../../test/contract.js';
import { createHarness, type Harness } from '../../test/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});

const inFuture = (ms: number) => new Date(harness.clock().getTime() + ms).toISOString();

const regenerate = (id: string, body: unknown, status: number, message?: string | RegExp) =>
  expectAnswer(
    harness.as(harness.adminSecret).post(`/tokens/${id}/regenerate`, body),
    'post',
    '/tokens/{id}/regenerate',
    status,
    message,
  );

async function createToken() {
  return (await harness.createToken(harness.adminSecret, { name: 'target' })).body;
}

describe('regenerateAPIToken refuses', () => {
  it.each([
    ['a missing existingTokenExpiresAt', {}, 'body.existingTokenExpiresAt'],
    ['a null existingTokenExpiresAt', { existingTokenExpiresAt: null }, 'body.existingTokenExpiresAt'],
    [
      'an existingTokenExpiresAt that is no date',
      { existingTokenExpiresAt: 'tomorrow' },
      'body.existingTokenExpiresAt',
    ],
    [
      'a newTokenExpiresAt in the past',
      { existingTokenExpiresAt: '2031-01-01T00:00:00Z', newTokenExpiresAt: '2020-01-01T00:00:00Z' },
      'body.newTokenExpiresAt',
    ],
    [
      'a newToken with an unknown property',
      { existingTokenExpiresAt: '2031-01-01T00:00:00Z', newToken: { name: 'x', owner: 'me' } },
      'body.newToken',
    ],
    [
      'a newToken without a name',
      { existingTokenExpiresAt: '2031-01-01T00:00:00Z', newToken: { description: 'x' } },
      'body.newToken',
    ],
    [
      'a newToken whose expiresAt has passed',
      {
        existingTokenExpiresAt: '2031-01-01T00:00:00Z',
        newToken: { name: 'x', expiresAt: '2020-01-01T00:00:00Z' },
      },
      'body.newToken.expiresAt',
    ],
    ['an unknown property', { existingTokenExpiresAt: '2031-01-01T00:00:00Z', force: true }, 'body.force'],
  ])('%s with 400, and the old token keeps working unchanged', async (_, body, field) => {
    const token = await createToken();
    await regenerate(token.id, body, 400, field);
    const after = await harness.as(harness.adminSecret).get(`/tokens/${token.id}`);
    const { token: _secret, ...unchanged } = token;
    expect(after.body).toStrictEqual(unchanged);
  });

  it('an unknown id with 404', () => {
    const id = randomUUID();
    return regenerate(id, { existingTokenExpiresAt: inFuture(1000) }, 404, `id: no token ${id}`);
  });

  it('a malformed id with 400', () =>
    regenerate('nope', { existingTokenExpiresAt: inFuture(1000) }, 400, 'path.id'));

  it('a deleted token with 404', async () => {
    const token = await createToken();
    await harness.as(harness.adminSecret).delete(`/tokens/${token.id}`).expect(204);
    await regenerate(token.id, { existingTokenExpiresAt: inFuture(1000) }, 404);
  });

  it('a second regenerate of the same token with 409, pointing at the replacement', async () => {
    const token = await createToken();
    await regenerate(token.id, { existingTokenExpiresAt: inFuture(60_000) }, 200);
    await regenerate(token.id, { existingTokenExpiresAt: inFuture(60_000) }, 409, 'already been regenerated');
  });

  it('a body that is not JSON with 415', () =>
    expectAnswer(
      harness
        .as(harness.adminSecret)
        .post(`/tokens/${randomUUID()}/regenerate`, undefined)
        .set('Content-Type', 'text/plain')
        .send('existingTokenExpiresAt=now'),
      'post',
      '/tokens/{id}/regenerate',
      415,
      'Content-Type',
    ));
});
