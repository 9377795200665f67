// getAPIToken, bad requests: unknown, deleted, expired and malformed ids.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, it } from 'vitest';
import { expectAnswer } from '../../test/contract.js';
import { createHarness, type Harness } from '../../test/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});

const get = (id: string, status: number, message?: string | RegExp) =>
  expectAnswer(harness.as(harness.adminSecret).get(`/tokens/${id}`), 'get', '/tokens/{id}', status, message);

describe('getAPIToken refuses', () => {
  it('an unknown id with 404', () => {
    const id = randomUUID();
    return get(id, 404, `id: no token ${id}`);
  });
  it.each([
    ['not a uuid', 'abc'],
    ['too long', `${randomUUID()}0`],
    ['a path traversal', '..%2F..%2Fetc%2Fpasswd'],
  ])('an id that is %s with 400', async (_, id) => {
    await get(id, 400, 'path.id');
  });

  it('a deleted token with 404', async () => {
    const { body } = await harness.createToken(harness.adminSecret, { name: 'short-lived' });
    await harness.as(harness.adminSecret).delete(`/tokens/${body.id}`).expect(204);
    await get(body.id, 404);
  });

  it('an expired token with 404, to the millisecond', async () => {
    const expiresAt = new Date(harness.clock().getTime() + 1000).toISOString();
    const { body } = await harness.createToken(harness.adminSecret, { name: 'expiring', expiresAt });
    harness.clock.advance(999);
    await get(body.id, 200);
    harness.clock.advance(1);
    await get(body.id, 404);
  });
});
