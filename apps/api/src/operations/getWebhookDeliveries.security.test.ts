// getWebhookDeliveries, security: auditLog read or nothing; what a delivery shows is covered with a real outbox in webhooks/webhooks.test.ts.
import { beforeAll, describe, it } from 'vitest';
import { expectAnswer } from '../../test/contract.js';
import { createHarness, type Harness } from '../../test/harness.js';
import { generateSecret } from '../tokens/secrets.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});

const deliveries = (secret: string | undefined, status: number, message?: string | RegExp) =>
  expectAnswer(
    harness.as(secret).get('/webhooks/deliveries'),
    'get',
    '/webhooks/deliveries',
    status,
    message,
  );

describe('getWebhookDeliveries security', () => {
  it('refuses an anonymous caller with 401', () => deliveries(undefined, 401, 'Authorization'));

  it('refuses an unknown token with 401', () => deliveries(generateSecret(), 401));

  it('refuses a caller without auditLog read with 403, even one holding every apiTokens action', async () => {
    const tokenAdmin = await harness.callerWith({
      orgCapabilities: { apiTokens: ['create', 'read', 'update', 'delete'] },
    });
    await deliveries(tokenAdmin, 403, /auditLog/);
  });

  it('answers an auditLog reader', async () => {
    await deliveries(await harness.callerWith({ orgCapabilities: { auditLog: ['read'] } }), 200);
  });
});
