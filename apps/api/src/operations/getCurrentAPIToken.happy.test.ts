// getCurrentAPIToken, happy paths: any live token reads itself back, and `self` is never taken for an id.
import { beforeAll, describe, expect, it } from 'vitest';
import { expectAnswer } from '../../test/contract.js';
import { createHarness, type Harness } from '../../test/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});

const self = (secret: string) =>
  expectAnswer(harness.as(secret).get('/tokens/self'), 'get', '/tokens/self', 200);

describe('getCurrentAPIToken', () => {
  it('answers the caller its own token exactly as create did, less the secret', async () => {
    const created = await harness.createToken(harness.adminSecret, {
      name: 'shipper',
      description: 'ships logs',
      expiresAt: '2031-02-03T04:05:06.789Z',
      datasetCapabilities: { logs: { ingest: ['create'] } },
      orgCapabilities: { apiTokens: ['read'] },
    });
    const { token, ...withoutSecret } = created.body;
    const answer = await self(token);
    expect(answer.body).toStrictEqual(withoutSecret);
    expect(JSON.stringify(answer.body)).not.toContain(token);
  });

  it('answers a token that holds no capability at all', async () => {
    const created = await harness.createToken(harness.adminSecret, { name: 'nothing at all' });
    const answer = await self(created.body.token);
    expect(answer.body).toMatchObject({ id: created.body.id, name: 'nothing at all', orgCapabilities: {} });
  });

  it('answers the bootstrap admin with its own id: /tokens/self is matched before /tokens/{id}', async () => {
    // Were `self` taken for an id, the answer would be 400 (not a uuid) instead.
    const answer = await self(harness.adminSecret);
    expect(answer.body.id).toBe(harness.admin.id);
    expect(answer.body.name).toBe('bootstrap-admin');
  });

  it('answers the old token, with its grace period, while a regenerated secret still works', async () => {
    const created = await harness.createToken(harness.adminSecret, { name: 'rotated' });
    const grace = '2030-01-01T01:00:00.000Z';
    await expectAnswer(
      harness
        .as(harness.adminSecret)
        .post(`/tokens/${created.body.id}/regenerate`, { existingTokenExpiresAt: grace }),
      'post',
      '/tokens/{id}/regenerate',
      200,
    );
    const answer = await self(created.body.token);
    expect(answer.body).toMatchObject({ id: created.body.id, expiresAt: grace });
  });
});
