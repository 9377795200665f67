// getWebhookDeliveries, errors: a bad limit or cursor is a 400 naming it.
import { beforeAll, describe, it } from 'vitest';
import { expectAnswer } from '../../test/contract.js';
import { createHarness, type Harness } from '../../test/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});

describe('getWebhookDeliveries errors', () => {
  it.each([
    ['limit=0', /limit/],
    ['limit=1001', /limit/],
    ['limit=ten', /limit/],
    ['cursor=!!', /cursor/],
    [`cursor=${Buffer.from('x').toString('base64url')}`, /query\.cursor: not a cursor this server gave out/],
  ])('refuses ?%s with 400 naming it', async (query, message) => {
    await expectAnswer(
      harness.as(harness.adminSecret).get(`/webhooks/deliveries?${query}`),
      'get',
      '/webhooks/deliveries',
      400,
      message,
    );
  });
});
