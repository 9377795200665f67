// deleteAPIToken, bad requests: unknown, already deleted, expired and malformed ids.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, it } from 'vitest';
import { expectAnswer } from '../../test/contract.js';
import { createHarness, type Harness } from '../../test/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});

const remove = (id: string, status: number, message?: string) =>
  expectAnswer(
    harness.as(harness.adminSecret).delete(`/tokens/${id}`),
    'delete',
    '/tokens/{id}',
    status,
    message,
  );

describe('deleteAPIToken refuses', () => {
  it('an unknown id with 404', () => {
    const id = randomUUID();
    return remove(id, 404, `id: no token ${id}`);
  });
  it('a second delete of the same token with 404', async () => {
    const { body } = await harness.createToken(harness.adminSecret, { name: 'twice' });
    await remove(body.id, 204);
    await remove(body.id, 404);
  });
  it('an expired token with 404', async () => {
    const expiresAt = new Date(harness.clock().getTime() + 5).toISOString();
    const { body } = await harness.createToken(harness.adminSecret, { name: 'expired', expiresAt });
    harness.clock.advance(5);
    await remove(body.id, 404);
  });
  it.each(['abc', '00000000-0000-0000-0000-00000000000g', ' '])('a malformed id %j with 400', async (id) => {
    await remove(encodeURIComponent(id), 400, 'path.id');
  });
});
