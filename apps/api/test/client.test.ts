// The generated client against a live server on an ephemeral port: what a contract-driven consumer does.
import type { AddressInfo } from 'node:net';
import {
  type Client,
  createApiToken,
  createClient,
  deleteApiToken,
  getApiToken,
  getApiTokens,
  regenerateApiToken,
} from '@api-tokens/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

let harness: Harness;
let server: ReturnType<Harness['app']['listen']>;
let baseUrl: string;
beforeAll(async () => {
  harness = await createHarness();
  server = harness.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const clientFor = (secret: string): Client => createClient({ baseUrl, auth: secret });

describe('@api-tokens/client', () => {
  it('creates a token, then uses its secret to create a narrower one', async () => {
    const first = await createApiToken({
      baseUrl,
      headers: { Authorization: `Bearer ${harness.adminSecret}` },
      body: {
        name: 'team-lead',
        orgCapabilities: { apiTokens: ['create', 'read'], dashboards: ['read'] },
        datasetCapabilities: { logs: { query: ['read'], ingest: ['create'] } },
      },
    });
    expect(first.response.status).toBe(200);
    expect(first.error).toBeUndefined();
    const secret = first.data?.token as string;
    expect(secret).toMatch(/^xaat-/);

    const second = await createApiToken({
      client: clientFor(secret),
      body: { name: 'ingest-only', datasetCapabilities: { logs: { ingest: ['create'] } } },
    });
    expect(second.response.status).toBe(200);
    expect(second.data).toMatchObject({
      name: 'ingest-only',
      datasetCapabilities: { logs: { ingest: ['create'] } },
      orgCapabilities: {},
      expiresAt: null,
    });

    const escalation = await createApiToken({
      client: clientFor(secret),
      body: { name: 'too-wide', datasetCapabilities: { logs: { data: ['delete'] } } },
    });
    expect(escalation.response.status).toBe(403);
    expect(escalation.data).toBeUndefined();
    expect(escalation.error).toEqual({
      code: 403,
      message: expect.stringContaining('datasetCapabilities.logs.data'),
    });
  });

  it('surfaces a refused secret as a typed 401 error', async () => {
    const answer = await createApiToken({ client: clientFor(`xaat-${'0'.repeat(43)}`), body: { name: 'x' } });
    expect(answer.response.status).toBe(401);
    expect(answer.error).toEqual({ code: 401, message: expect.stringContaining('Authorization') });
  });

  it('throws the error body when asked to', async () => {
    await expect(
      createApiToken({ client: clientFor(harness.adminSecret), body: { name: '' }, throwOnError: true }),
    ).rejects.toEqual({ code: 400, message: expect.stringContaining('body.name') });
  });

  it('runs the whole lifecycle: create, list, get, regenerate, delete', async () => {
    const admin = clientFor(harness.adminSecret);
    const created = await createApiToken({ client: admin, body: { name: 'lifecycle' }, throwOnError: true });
    const { token: secret, ...token } = created.data;

    const listed = await getApiTokens({ client: admin, throwOnError: true });
    expect(listed.data).toContainEqual(token);
    const paged = await getApiTokens({ client: admin, query: { limit: 1 }, throwOnError: true });
    expect(paged.data).toHaveLength(1);
    expect(paged.response.headers.get('link')).toMatch(/rel="next"$/);

    const got = await getApiToken({ client: admin, path: { id: token.id }, throwOnError: true });
    expect(got.data).toEqual(token);

    const regenerated = await regenerateApiToken({
      client: admin,
      path: { id: token.id },
      body: { existingTokenExpiresAt: new Date(Date.now() - 1000).toISOString() },
      throwOnError: true,
    });
    expect(regenerated.data.id).not.toBe(token.id);
    expect(regenerated.data.token).not.toBe(secret);
    const old = await getApiToken({ client: admin, path: { id: token.id } });
    expect(old.response.status).toBe(404);

    const deleted = await deleteApiToken({ client: admin, path: { id: regenerated.data.id } });
    expect(deleted.response.status).toBe(204);
    const gone = await getApiToken({ client: admin, path: { id: regenerated.data.id } });
    expect(gone.error).toEqual({ code: 404, message: expect.stringContaining(regenerated.data.id) });
  });
});
