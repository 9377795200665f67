// reportLeakedAPITokens, security: open to anyone, so limited per client address (LEAK_REPORTS_PER_MINUTE).
import { describe, expect, it } from 'vitest';
import { expectAnswer } from '../../test/contract.js';
import { createHarness } from '../../test/harness.js';

describe('reportLeakedAPITokens limits', () => {
  it('answers 429 with Retry-After past LEAK_REPORTS_PER_MINUTE from one address', async () => {
    const limited = await createHarness({
      rateLimits: { failedAuthPerMinute: 0, requestsPerTokenPerSecond: 0, leakReportsPerMinute: 2 },
    });
    for (let i = 0; i < 2; i++) {
      await expectAnswer(
        limited.as(undefined).post('/tokens/leaked', { tokens: ['xaat-x'] }),
        'post',
        '/tokens/leaked',
        202,
      );
    }
    const refused = await expectAnswer(
      limited.as(undefined).post('/tokens/leaked', { tokens: ['xaat-x'] }),
      'post',
      '/tokens/leaked',
      429,
      /too many leak reports from this address/,
    );
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });
});
