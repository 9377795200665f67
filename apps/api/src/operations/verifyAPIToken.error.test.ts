// verifyAPIToken, bad input: a 4xx `{ code, message }` naming the field, never a 5xx, never the secret echoed.
import { beforeAll, describe, expect, it } from 'vitest';
import { expectAnswer } from '../../test/contract.js';
import { createHarness, expectNoTokenChangeAfterEach, type Harness } from '../../test/harness.js';

let harness: Harness;
let secret: string;
beforeAll(async () => {
  harness = await createHarness();
  secret = (await harness.createToken(harness.adminSecret, { name: 'verified' })).body.token;
});
expectNoTokenChangeAfterEach(() => harness);

const verify = (body: unknown) => harness.as(harness.adminSecret).post('/tokens/verify', body);

describe('verifyAPIToken refuses bad input', () => {
  it.each([
    ['a missing token', {}, 'body.token'],
    ['a token that is not a string', { token: 42 }, 'body.token'],
    ['an unknown property', { token: 'x', tokens: ['y'] }, 'body.tokens'],
    ['a require that is not an object', { token: 'x', require: 'everything' }, 'body.require'],
    [
      'an unknown field in require',
      { token: 'x', require: { capabilities: {} } },
      'body.require.capabilities',
    ],
    [
      'an unknown org capability',
      { token: 'x', require: { orgCapabilities: { everything: ['read'] } } },
      'body.require.orgCapabilities.everything',
    ],
    [
      'an action the capability does not have',
      { token: 'x', require: { datasetCapabilities: { logs: { ingest: ['delete'] } } } },
      'body.require.datasetCapabilities.logs.ingest[0]',
    ],
    [
      'a dataset name the spec does not allow',
      { token: 'x', require: { datasetCapabilities: { 'a/b': { query: ['read'] } } } },
      'body.require.datasetCapabilities',
    ],
  ])('%s with 400 naming the field', async (_, body, field) => {
    const answer = await expectAnswer(verify(body), 'post', '/tokens/verify', 400, field);
    expect(answer.body.message).not.toContain(secret);
  });

  it('a body that is not JSON with 415', () =>
    expectAnswer(
      harness
        .as(harness.adminSecret)
        .post('/tokens/verify', undefined)
        .set('Content-Type', 'text/plain')
        .send(secret),
      'post',
      '/tokens/verify',
      415,
      'Content-Type',
    ));

  it('other methods with 405 and Allow: POST, not as a token id', async () => {
    const answer = await harness.as(harness.adminSecret).get('/tokens/verify');
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('POST');
    expect(answer.body).toEqual({ code: 405, message: 'GET /v2/tokens/verify: method not allowed' });
  });
});
