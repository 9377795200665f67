// getAPIToken, security: only callers holding apiTokens:read may look.
import { beforeAll, describe, it } from 'vitest';
import { expectAnswer } from '../../test/contract.js';
import { createHarness, type Harness } from '../../test/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});

const get = (secret: string | undefined, status: number, message?: string | RegExp) =>
  expectAnswer(harness.as(secret).get(`/tokens/${harness.admin.id}`), 'get', '/tokens/{id}', status, message);

describe('getAPIToken security', () => {
  it('refuses an anonymous caller with 401', () => get(undefined, 401, 'Authorization'));
  it('refuses a caller without apiTokens:read with 403', async () => {
    const secret = await harness.callerWith({
      orgCapabilities: { apiTokens: ['create', 'update', 'delete'] },
    });
    await get(secret, 403, /orgCapabilities\.apiTokens.*'read'/);
  });
  it('lets a caller with only apiTokens:read look', async () => {
    await get(await harness.callerWith({ orgCapabilities: { apiTokens: ['read'] } }), 200);
  });
});
