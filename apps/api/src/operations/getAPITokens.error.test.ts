// getAPITokens, bad query strings: each a 400 naming the parameter.
import { beforeAll, describe, it } from 'vitest';
import { expectAnswer } from '../../test/contract.js';
import { createHarness, type Harness, spec } from '../../test/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});

const list = (query: string, message: string) =>
  expectAnswer(harness.as(harness.adminSecret).get(`/tokens${query}`), 'get', '/tokens', 400, message);

const limitRule = spec.paths['/tokens']?.get?.parameters as { name: string; schema: { maximum: number } }[];
const maxLimit = limitRule.find((parameter) => parameter.name === 'limit')?.schema.maximum ?? 0;

describe('getAPITokens refuses', () => {
  it.each(['0', '-1', String(maxLimit + 1), 'abc', '1.5'])('limit=%s', async (limit) => {
    await list(`?limit=${limit}`, 'query.limit');
  });
  it.each(['not-a-cursor', Buffer.from('123.x').toString('base64url'), 'a'.repeat(201)])(
    'cursor=%s',
    async (cursor) => {
      await list(`?cursor=${cursor}`, 'query.cursor');
    },
  );
  it('an unknown query parameter', () => list('?page=2', 'page'));
});
