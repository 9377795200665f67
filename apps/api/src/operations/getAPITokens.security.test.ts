// getAPITokens, security: only callers holding apiTokens:read may list, and no answer carries a secret.
import { beforeAll, describe, expect, it } from 'vitest';
import { expectAnswer } from '../../test/contract.js';
import { createHarness, type Harness } from '../../test/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});

const list = (secret: string | undefined, status: number, message?: string | RegExp) =>
  expectAnswer(harness.as(secret).get('/tokens'), 'get', '/tokens', status, message);

describe('getAPITokens security', () => {
  it('refuses an anonymous caller with 401', () => list(undefined, 401, 'Authorization'));
  it('refuses a caller without apiTokens:read with 403', async () => {
    await list(
      await harness.callerWith({ orgCapabilities: { apiTokens: ['create'] } }),
      403,
      /apiTokens.*'read'/,
    );
  });
  it('never answers a secret', async () => {
    const secret = await harness.callerWith({ orgCapabilities: { apiTokens: ['read'] } });
    const answer = await list(secret, 200);
    const text = JSON.stringify(answer.body);
    expect(text).not.toContain(secret);
    expect(text).not.toContain(harness.adminSecret);
    expect(text).not.toMatch(/xaat-/);
  });
});
