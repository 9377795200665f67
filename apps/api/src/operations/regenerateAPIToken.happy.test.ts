// regenerateAPIToken, happy paths: a new secret at once, the old one until the end of its grace period, and not after.
import { beforeEach, describe, expect, it } from 'vitest';
import { expectAnswer } from '../../test/contract.js';
import { createHarness, type Harness } from '../../test/harness.js';

let harness: Harness;
beforeEach(async () => {
  harness = await createHarness();
});

const MINUTE = 60_000;
const inFuture = (ms: number) => new Date(harness.clock().getTime() + ms).toISOString();

async function createToken(body: object = {}) {
  const answer = await harness.createToken(harness.adminSecret, {
    name: 'rotating',
    description: 'deployed everywhere',
    datasetCapabilities: { logs: { ingest: ['create'] } },
    orgCapabilities: { apiTokens: ['read'] },
    viewCapabilities: { 'errors-view': { query: ['read'] } },
    ...body,
  });
  expect(answer.status).toBe(200);
  return answer.body;
}

const regenerate = (id: string, body: object) =>
  expectAnswer(
    harness.as(harness.adminSecret).post(`/tokens/${id}/regenerate`, body),
    'post',
    '/tokens/{id}/regenerate',
    200,
  );

/** Whether a secret authenticates: a read it is allowed answers 200, a refused secret 401. */
async function works(secret: string): Promise<boolean> {
  const answer = await harness.as(secret).get('/tokens');
  expect([200, 401]).toContain(answer.status);
  return answer.status === 200;
}

const get = (id: string) => harness.as(harness.adminSecret).get(`/tokens/${id}`);

describe('regenerateAPIToken', () => {
  it('answers a replacement with a new id and secret, copying name, description and capabilities', async () => {
    const old = await createToken();
    const { body } = await regenerate(old.id, { existingTokenExpiresAt: inFuture(MINUTE) });
    expect(body.id).not.toBe(old.id);
    expect(body.token).not.toBe(old.token);
    const { id: _oldId, token: _oldSecret, ...copied } = old;
    expect(body).toMatchObject(copied);
  });

  it('keeps the old secret working until existingTokenExpiresAt, to the millisecond, and the new one from the start', async () => {
    const old = await createToken();
    const graceEnd = inFuture(MINUTE);
    const { body: replacement } = await regenerate(old.id, { existingTokenExpiresAt: graceEnd });
    expect(await works(replacement.token)).toBe(true);
    expect(await works(old.token)).toBe(true);
    expect((await get(old.id)).body.expiresAt).toBe(graceEnd);

    harness.clock.advance(MINUTE - 1);
    expect(await works(old.token)).toBe(true);
    harness.clock.advance(1);
    expect(await works(old.token)).toBe(false);
    expect(await works(replacement.token)).toBe(true);
    expect((await get(old.id)).status).toBe(404);
    expect((await get(replacement.id)).status).toBe(200);
  });

  it('revokes the old secret at once when existingTokenExpiresAt is now or past', async () => {
    for (const existingTokenExpiresAt of [harness.clock().toISOString(), '2001-01-01T00:00:00Z']) {
      const old = await createToken();
      const { body } = await regenerate(old.id, { existingTokenExpiresAt });
      expect(await works(old.token)).toBe(false);
      expect(await works(body.token)).toBe(true);
    }
  });

  it('never extends the old token beyond its own expiry', async () => {
    const ownExpiry = inFuture(MINUTE);
    const old = await createToken({ expiresAt: ownExpiry });
    await regenerate(old.id, { existingTokenExpiresAt: inFuture(10 * MINUTE) });
    expect((await get(old.id)).body.expiresAt).toBe(ownExpiry);
    harness.clock.advance(MINUTE);
    expect(await works(old.token)).toBe(false);
  });

  it('gives the replacement the old expiry by default, newTokenExpiresAt when given, never for null', async () => {
    const ownExpiry = inFuture(60 * MINUTE);
    const old = await createToken({ expiresAt: ownExpiry });
    const inherited = await regenerate(old.id, { existingTokenExpiresAt: inFuture(MINUTE) });
    expect(inherited.body.expiresAt).toBe(ownExpiry);

    const chosen = inFuture(120 * MINUTE);
    const explicit = await regenerate(inherited.body.id, {
      existingTokenExpiresAt: inFuture(MINUTE),
      newTokenExpiresAt: chosen,
    });
    expect(explicit.body.expiresAt).toBe(chosen);

    const never = await regenerate(explicit.body.id, {
      existingTokenExpiresAt: inFuture(MINUTE),
      newTokenExpiresAt: null,
    });
    expect(never.body.expiresAt).toBeNull();
  });

  it('creates the replacement from newToken when given', async () => {
    const old = await createToken();
    const { body } = await regenerate(old.id, {
      existingTokenExpiresAt: inFuture(MINUTE),
      newToken: {
        name: 'rotated-narrower',
        datasetCapabilities: { logs: { ingest: ['create'] } },
        expiresAt: inFuture(30 * MINUTE),
      },
    });
    expect(body).toMatchObject({
      name: 'rotated-narrower',
      description: '',
      datasetCapabilities: { logs: { ingest: ['create'] } },
      orgCapabilities: {},
      viewCapabilities: {},
      expiresAt: inFuture(30 * MINUTE),
    });
  });

  it('answers the replacement exactly as get and list then read it', async () => {
    const old = await createToken({ expiresAt: '2031-05-05T05:05:05.5+05:00' });
    const { body } = await regenerate(old.id, { existingTokenExpiresAt: inFuture(MINUTE) });
    const { token: _secret, ...withoutSecret } = body;
    expect((await get(body.id)).body).toStrictEqual(withoutSecret);
    const listed = (await harness.as(harness.adminSecret).get('/tokens')).body;
    expect(listed.find((token: { id: string }) => token.id === body.id)).toStrictEqual(withoutSecret);
  });

  it('lets a token regenerate itself', async () => {
    const self = await createToken({ orgCapabilities: { apiTokens: ['update', 'read'] } });
    const answer = await expectAnswer(
      harness
        .as(self.token)
        .post(`/tokens/${self.id}/regenerate`, { existingTokenExpiresAt: inFuture(MINUTE) }),
      'post',
      '/tokens/{id}/regenerate',
      200,
    );
    expect(await works(answer.body.token)).toBe(true);
  });
});
