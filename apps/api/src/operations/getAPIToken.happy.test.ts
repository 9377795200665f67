// getAPIToken, happy paths: a token reads back exactly as it was answered when created.
import { beforeAll, describe, expect, it } from 'vitest';
import { expectAnswer } from '../../test/contract.js';
import { createHarness, type Harness } from '../../test/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});

const get = (id: string) =>
  expectAnswer(harness.as(harness.adminSecret).get(`/tokens/${id}`), 'get', '/tokens/{id}', 200);

describe('getAPIToken', () => {
  it('answers the token exactly as create did, less the secret', async () => {
    const created = await harness.createToken(harness.adminSecret, {
      name: 'everything',
      description: 'all kinds of grants',
      expiresAt: '2031-02-03T04:05:06.789123+01:00',
      datasetCapabilities: {
        '*': { query: ['read'] },
        logs: { ingest: ['create'], share: ['read', 'create'] },
      },
      orgCapabilities: { views: ['read'], billing: ['update', 'read'] },
      viewCapabilities: { 'errors-view': { query: ['read'] } },
    });
    const { token, ...withoutSecret } = created.body;
    expect(token).toMatch(/^xaat-/);
    const answer = await get(created.body.id);
    expect(answer.body).toStrictEqual(withoutSecret);
    expect(JSON.stringify(answer.body)).not.toContain(token);
  });

  it('reads the bootstrap admin token with every capability', async () => {
    const answer = await get(harness.admin.id);
    expect(answer.body).toMatchObject({ name: 'bootstrap-admin', expiresAt: null, samlAuthenticated: false });
    expect(answer.body).not.toHaveProperty('token');
  });
});

describe('getAPIToken ids', () => {
  it('finds a token by its id in upper case too, as the uuid format allows', async () => {
    const answer = await get(harness.admin.id.toUpperCase());
    expect(answer.body.id).toBe(harness.admin.id);
  });
});
