// Routes come from the spec's paths, whatever order the spec lists them in.
import { describe, expect, it } from 'vitest';
import { expectAnswer } from './contract.js';
import { createHarness, spec } from './harness.js';

describe('routing', () => {
  it('answers /tokens/leaked wherever the spec lists it, even after the /tokens/{id} it would match', async () => {
    const { '/tokens/{id}': byId, ...others } = spec.paths;
    if (byId === undefined) throw new Error('the spec has no /tokens/{id}');
    const reordered = { ...spec, paths: { '/tokens/{id}': byId, ...others } };
    const paths = Object.keys(reordered.paths);
    expect(paths.indexOf('/tokens/{id}')).toBeLessThan(paths.indexOf('/tokens/leaked'));

    const harness = await createHarness({ spec: reordered });
    const leaked = await harness.tokens.createToken(harness.admin, { name: 'leaked', expiresAt: null });
    const answer = await expectAnswer(
      harness.as(undefined).post('/tokens/leaked', { tokens: [leaked.secret] }),
      'post',
      '/tokens/leaked',
      202,
    );
    expect(answer.body).toEqual({ received: 1 });
    await harness.as(leaked.secret).get('/tokens/self').expect(401);
  });
});
