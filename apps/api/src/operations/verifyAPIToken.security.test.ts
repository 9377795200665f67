// verifyAPIToken, who may ask: a caller holding apiTokens:read; anyone else is refused before the secret is looked at.
import { beforeAll, describe, expect, it } from 'vitest';
import { expectAnswer } from '../../test/contract.js';
import { createHarness, expectNoTokenChangeAfterEach, type Harness } from '../../test/harness.js';

let harness: Harness;
let secret: string;
/** Callers that may do much, but not read tokens. */
let withoutRead: string;
let ingestOnly: string;
beforeAll(async () => {
  harness = await createHarness();
  secret = (await harness.createToken(harness.adminSecret, { name: 'verified' })).body.token;
  withoutRead = await harness.callerWith({
    orgCapabilities: { apiTokens: ['create', 'update', 'delete'] },
    datasetCapabilities: { '*': { query: ['read'] } },
  });
  ingestOnly = await harness.callerWith({ datasetCapabilities: { logs: { ingest: ['create'] } } });
});
expectNoTokenChangeAfterEach(() => harness);

describe('verifyAPIToken refuses', () => {
  it('an anonymous caller with 401', () =>
    expectAnswer(
      harness.as(undefined).post('/tokens/verify', { token: secret }),
      'post',
      '/tokens/verify',
      401,
    ));

  it('an unknown bearer token with 401, even when the body holds a live secret', () =>
    expectAnswer(
      harness.as(`xaat-${'B'.repeat(43)}`).post('/tokens/verify', { token: secret }),
      'post',
      '/tokens/verify',
      401,
    ));

  it('a caller without apiTokens:read with 403 naming it', async () => {
    const answer = await expectAnswer(
      harness.as(withoutRead).post('/tokens/verify', { token: secret }),
      'post',
      '/tokens/verify',
      403,
      'orgCapabilities.apiTokens',
    );
    expect(answer.body.message).not.toContain(secret);
  });

  it('a token verifying itself without apiTokens:read: the secret is no credential for its own check', async () => {
    await expectAnswer(
      harness.as(ingestOnly).post('/tokens/verify', { token: ingestOnly }),
      'post',
      '/tokens/verify',
      403,
    );
  });
});
