// deleteAPIToken, happy paths: a deleted token stops authenticating at once and is gone from every read.
import { beforeAll, describe, expect, it } from 'vitest';
import { expectAnswer } from '../../test/contract.js';
import { createHarness, type Harness } from '../../test/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});

const remove = (secret: string, id: string) =>
  expectAnswer(harness.as(secret).delete(`/tokens/${id}`), 'delete', '/tokens/{id}', 204);

describe('deleteAPIToken', () => {
  it('answers 204 with no body, and the token stops authenticating at once', async () => {
    const { body } = await harness.createToken(harness.adminSecret, {
      name: 'doomed',
      orgCapabilities: { apiTokens: ['create'] },
    });
    await expectAnswer(harness.createToken(body.token, { name: 'before' }), 'post', '/tokens', 200);
    const answer = await remove(harness.adminSecret, body.id);
    expect(answer.text).toBe('');
    await expectAnswer(harness.createToken(body.token, { name: 'after' }), 'post', '/tokens', 401);
    await expectAnswer(harness.as(harness.adminSecret).get(`/tokens/${body.id}`), 'get', '/tokens/{id}', 404);
    const listed = await harness.as(harness.adminSecret).get('/tokens');
    expect(listed.body.map((token: { id: string }) => token.id)).not.toContain(body.id);
  });

  it('lets a token holding apiTokens:delete delete itself', async () => {
    const { body } = await harness.createToken(harness.adminSecret, {
      name: 'self-destruct',
      orgCapabilities: { apiTokens: ['delete', 'read'] },
    });
    await remove(body.token, body.id);
    await expectAnswer(harness.as(body.token).get('/tokens'), 'get', '/tokens', 401);
  });
});
