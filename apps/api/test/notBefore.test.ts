// Tokens that start later (notBefore): before it a token authenticates nothing (401, as unknown) and verifies NOT_YET_VALID; at it, it works. No token starts before its issuer may act, or ends before it starts.
import { beforeEach, describe, expect, it } from 'vitest';
import { expectAnswer } from './contract.js';
import { createHarness, type Harness } from './harness.js';

let harness: Harness;

const MANAGER = { orgCapabilities: { apiTokens: ['create', 'read', 'update', 'delete'] } };
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';
const at = (ms: number) => new Date(harness.clock().getTime() + ms).toISOString();

const verify = async (token: string) =>
  (
    await expectAnswer(
      harness.as(harness.adminSecret).post('/tokens/verify', { token }),
      'post',
      '/tokens/verify',
      200,
    )
  ).body;

beforeEach(async () => {
  harness = await createHarness();
});

describe('a token before and at its notBefore', () => {
  it('authenticates nothing until the very millisecond of notBefore, then works; verify agrees', async () => {
    const notBefore = at(60_000);
    const created = await expectAnswer(
      harness.createToken(harness.adminSecret, { name: 'later', notBefore, ...MANAGER }),
      'post',
      '/tokens',
      200,
    );
    expect(created.body.notBefore).toBe(notBefore);
    const secret = created.body.token as string;

    harness.clock.advance(59_999);
    // As an unknown token: the same 401, saying nothing of a start to come.
    const early = await expectAnswer(
      harness.as(secret).get('/tokens/self'),
      'get',
      '/tokens/self',
      401,
      'Authorization: the bearer token is unknown, revoked or expired',
    );
    expect(early.headers['www-authenticate']).toContain('invalid_token');
    expect(await verify(secret)).toEqual({ valid: false, code: 'NOT_YET_VALID' });

    harness.clock.advance(1);
    const started = await expectAnswer(harness.as(secret).get('/tokens/self'), 'get', '/tokens/self', 200);
    expect(started.body.notBefore).toBe(notBefore);
    expect(await verify(secret)).toMatchObject({ valid: true, code: 'VALID' });
  });

  it('is listed and read before it starts, with its notBefore', async () => {
    const notBefore = at(86_400_000);
    const created = await harness.createToken(harness.adminSecret, { name: 'later', notBefore });
    const read = await expectAnswer(
      harness.as(harness.adminSecret).get(`/tokens/${created.body.id}`),
      'get',
      '/tokens/{id}',
      200,
    );
    expect(read.body.notBefore).toBe(notBefore);
  });

  it('takes null and Go\'s zero time as "from its creation", and answers no notBefore then', async () => {
    for (const notBefore of [null, GO_ZERO_TIME]) {
      const created = await expectAnswer(
        harness.createToken(harness.adminSecret, { name: 'now', notBefore }),
        'post',
        '/tokens',
        200,
      );
      expect(created.body).not.toHaveProperty('notBefore');
      expect(await verify(created.body.token)).toMatchObject({ code: 'VALID' });
    }
  });
});

describe('the start of a new token', () => {
  it('must come before its end (400 naming the expiry), changing nothing', async () => {
    const before = await harness.store.count();
    for (const expiresAt of [at(60_000), at(30_000)]) {
      await expectAnswer(
        harness.createToken(harness.adminSecret, { name: 'x', notBefore: at(60_000), expiresAt }),
        'post',
        '/tokens',
        400,
        /^body\.expiresAt: must be after notBefore/,
      );
    }
    await expectAnswer(
      harness.createToken(harness.adminSecret, { name: 'x', notBefore: at(60_000), expiresAt: at(60_001) }),
      'post',
      '/tokens',
      200,
    );
    expect(await harness.store.count()).toBe(before + 1);
  });

  it("cannot come before its issuer's (403), at both edges", async () => {
    const callerStart = at(1000);
    const caller = await harness.callerWith(MANAGER, { notBefore: callerStart });
    harness.clock.advance(1000);
    const before = await harness.store.count();
    await expectAnswer(
      harness.createToken(caller, { name: 'earlier', notBefore: at(-1) }),
      'post',
      '/tokens',
      403,
      new RegExp(
        `^body\\.notBefore: cannot start before the caller's token may act, at ${callerStart.replace(/\./g, '\\.')}`,
      ),
    );
    expect(await harness.store.count()).toBe(before);
    await expectAnswer(
      harness.createToken(caller, { name: 'same', notBefore: callerStart }),
      'post',
      '/tokens',
      200,
    );
  });

  it('is checked on regenerate too: newToken.notBefore against newTokenExpiresAt', async () => {
    const created = await harness.createToken(harness.adminSecret, { name: 'rotated' });
    await expectAnswer(
      harness.as(harness.adminSecret).post(`/tokens/${created.body.id}/regenerate`, {
        existingTokenExpiresAt: at(0),
        newTokenExpiresAt: at(1000),
        newToken: { name: 'rotated', notBefore: at(2000) },
      }),
      'post',
      '/tokens/{id}/regenerate',
      400,
      /^body\.newTokenExpiresAt: must be after notBefore/,
    );
    // A copy keeps the old token's start.
    const later = await harness.createToken(harness.adminSecret, { name: 'later', notBefore: at(5000) });
    const copy = await expectAnswer(
      harness
        .as(harness.adminSecret)
        .post(`/tokens/${later.body.id}/regenerate`, { existingTokenExpiresAt: at(0) }),
      'post',
      '/tokens/{id}/regenerate',
      200,
    );
    expect(copy.body.notBefore).toBe(later.body.notBefore);
  });

  it('copies a start that has come as none, so a later-starting caller may regenerate it (the old token acts already)', async () => {
    const early = await harness.createToken(harness.adminSecret, { name: 'early', notBefore: at(1000) });
    const callerStart = at(2000);
    const caller = await harness.callerWith(MANAGER, { notBefore: callerStart });
    harness.clock.advance(2000);
    const copy = await expectAnswer(
      harness.as(caller).post(`/tokens/${early.body.id}/regenerate`, { existingTokenExpiresAt: at(0) }),
      'post',
      '/tokens/{id}/regenerate',
      200,
    );
    expect(copy.body.notBefore).toBeUndefined();
  });
});
