// getAPITokenRevocations, security: apiTokens read is needed, and Last-Event-ID is checked.
import { beforeAll, describe, it } from 'vitest';
import { expectAnswer } from '../../test/contract.js';
import { createHarness, type Harness } from '../../test/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});

const PATH = '/tokens/revocations';

describe('getAPITokenRevocations security', () => {
  it('refuses an anonymous caller with 401', () =>
    expectAnswer(harness.as(undefined).get(PATH), 'get', PATH, 401, 'Authorization'));

  it('refuses a token without apiTokens read with 403, naming it', async () => {
    const secret = await harness.callerWith({ orgCapabilities: { auditLog: ['read'] } });
    await expectAnswer(harness.as(secret).get(PATH), 'get', PATH, 403, /orgCapabilities\.apiTokens/);
  });

  it('refuses a Last-Event-ID that no stream sends with 400, naming the header', async () => {
    const secret = await harness.callerWith({ orgCapabilities: { apiTokens: ['read'] } });
    await expectAnswer(
      harness.as(secret).get(PATH).set('Last-Event-ID', 'not an id!'),
      'get',
      PATH,
      400,
      /Last-Event-ID/i,
    );
  });
});
