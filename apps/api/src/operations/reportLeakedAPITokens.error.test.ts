// reportLeakedAPITokens refuses malformed reports with 400 and changes nothing, and limits reports per client address.
import { beforeAll, describe, expect, it } from 'vitest';
import { expectAnswer } from '../../test/contract.js';
import { createHarness, expectNoTokenChangeAfterEach, type Harness } from '../../test/harness.js';

let harness: Harness;
let live: string;
beforeAll(async () => {
  harness = await createHarness();
  live = (await harness.tokens.createToken(harness.admin, { name: 'kept', expiresAt: null })).secret;
});
expectNoTokenChangeAfterEach(() => harness);

describe('reportLeakedAPITokens refuses', () => {
  it.each([
    ['no tokens', {}, 'body.tokens'],
    ['an empty list', { tokens: [] }, 'body.tokens'],
    ['more than 100 secrets', { tokens: Array.from({ length: 101 }, () => 'xaat-x') }, 'body.tokens'],
    ['a secret that is not a string', { tokens: [42] }, 'body.tokens[1]'],
    [
      'a source over 2,048 characters',
      { tokens: ['xaat-x'], source: `https://x/${'a'.repeat(2040)}` },
      'body.source',
    ],
    ['an unknown property', { tokens: ['xaat-x'], found: 'yes' }, 'body.found'],
  ])('%s with 400 naming the field', async (_, body, field) => {
    // A live secret in an invalid report is not revoked.
    const withLive =
      'tokens' in body && Array.isArray(body.tokens) && body.tokens.length > 0
        ? { ...body, tokens: [live, ...body.tokens] }
        : body;
    await expectAnswer(
      harness.as(undefined).post('/tokens/leaked', withLive),
      'post',
      '/tokens/leaked',
      400,
      field,
    );
    await harness.as(live).get('/tokens/self').expect(200);
  });

  it('a body that is not JSON with 415', () =>
    expectAnswer(
      harness.as(undefined).post('/tokens/leaked', 'tokens=xaat-x').set('Content-Type', 'text/plain'),
      'post',
      '/tokens/leaked',
      415,
    ));

  it('other methods with 405, before anything else', async () => {
    const answer = await harness.as(undefined).get('/tokens/leaked');
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('POST');
  });
});
