// deleteAPIToken, security: only callers holding apiTokens:delete may delete, themselves included.
import { beforeAll, describe, it } from 'vitest';
import { expectAnswer } from '../../test/contract.js';
import { createHarness, type Harness } from '../../test/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});

const remove = (secret: string | undefined, id: string, status: number, message?: string | RegExp) =>
  expectAnswer(harness.as(secret).delete(`/tokens/${id}`), 'delete', '/tokens/{id}', status, message);

describe('deleteAPIToken security', () => {
  it('refuses an anonymous caller with 401', () => remove(undefined, harness.admin.id, 401, 'Authorization'));

  it('refuses a caller without apiTokens:delete with 403, and the target survives', async () => {
    const { body: target } = await harness.createToken(harness.adminSecret, { name: 'target' });
    const secret = await harness.callerWith({ orgCapabilities: { apiTokens: ['create', 'read', 'update'] } });
    await remove(secret, target.id, 403, /apiTokens.*'delete'/);
    await expectAnswer(
      harness.as(harness.adminSecret).get(`/tokens/${target.id}`),
      'get',
      '/tokens/{id}',
      200,
    );
  });

  it('refuses a token without apiTokens:delete deleting itself', async () => {
    const { body } = await harness.createToken(harness.adminSecret, {
      name: 'cannot-delete',
      orgCapabilities: { apiTokens: ['read'] },
    });
    await remove(body.token, body.id, 403, /apiTokens.*'delete'/);
    await expectAnswer(harness.as(body.token).get(`/tokens/${body.id}`), 'get', '/tokens/{id}', 200);
  });
});
