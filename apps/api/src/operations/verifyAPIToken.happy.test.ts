// verifyAPIToken, verdicts: VALID, INSUFFICIENT_CAPABILITIES with what is missing, EXPIRED, NOT_FOUND and RATE_LIMITED.
import { beforeEach, describe, expect, it } from 'vitest';
import { expectAnswer } from '../../test/contract.js';
import { createHarness, type Harness } from '../../test/harness.js';

let harness: Harness;

const MINUTE = 60_000;
const inFuture = (ms: number) => new Date(harness.clock().getTime() + ms).toISOString();

/** A verifying service's token: apiTokens:read and nothing else. */
const verifier = () => harness.callerWith({ orgCapabilities: { apiTokens: ['read'] } });

/** The verdict for `body`, checked against the spec's schema for a 200. */
async function verify(body: object, as?: string) {
  const answer = await expectAnswer(
    harness.as(as ?? (await verifier())).post('/tokens/verify', body),
    'post',
    '/tokens/verify',
    200,
  );
  return answer.body;
}

async function createToken(body: object) {
  const answer = await harness.createToken(harness.adminSecret, { name: 'verified', ...body });
  expect(answer.status).toBe(200);
  return answer.body;
}

describe('verifyAPIToken', () => {
  beforeEach(async () => {
    harness = await createHarness();
  });

  it('answers VALID with the token, as get answers it once the verification is recorded as its use', async () => {
    const created = await createToken({ datasetCapabilities: { logs: { ingest: ['create'] } } });
    const verdict = await verify({ token: created.token });
    const { token: _secret, ...withoutSecret } = created;
    const used = { ...withoutSecret, apiLastUsed: harness.clock().toISOString() };
    expect(verdict).toEqual({ valid: true, code: 'VALID', token: used });
    expect(JSON.stringify(verdict)).not.toContain(created.token);
    await harness.tokens.flush();
    const got = await harness.as(harness.adminSecret).get(`/tokens/${created.id}`);
    expect(got.body).toEqual(used);
  });

  it('answers VALID when every required action is held, on the name or on *', async () => {
    const created = await createToken({
      datasetCapabilities: { '*': { query: ['read'] }, logs: { ingest: ['create'] } },
      viewCapabilities: { '*': { query: ['read'] } },
      orgCapabilities: { dashboards: ['read', 'update'] },
    });
    const verdict = await verify({
      token: created.token,
      require: {
        datasetCapabilities: { logs: { ingest: ['create'], query: ['read'] }, traces: { query: ['read'] } },
        viewCapabilities: { 'any-view': { query: ['read'] } },
        orgCapabilities: { dashboards: ['update'] },
      },
    });
    expect(verdict).toMatchObject({ valid: true, code: 'VALID', token: { id: created.id } });
  });

  it('answers INSUFFICIENT_CAPABILITIES listing each missing action as field.name.capability:action', async () => {
    const created = await createToken({
      datasetCapabilities: { logs: { query: ['read'] } },
      viewCapabilities: { 'errors-view': { query: ['read'] } },
    });
    const verdict = await verify({
      token: created.token,
      require: {
        orgCapabilities: { apiTokens: ['read'], users: null },
        datasetCapabilities: { logs: { ingest: ['create'], query: ['read'] }, '*': { query: ['read'] } },
        viewCapabilities: { 'errors-view': { share: ['read', 'delete'] } },
      },
    });
    expect(verdict).toEqual({
      valid: false,
      code: 'INSUFFICIENT_CAPABILITIES',
      token: expect.objectContaining({ id: created.id }),
      missing: [
        'orgCapabilities.apiTokens:read',
        'datasetCapabilities.*.query:read',
        'datasetCapabilities.logs.ingest:create',
        'viewCapabilities.errors-view.share:read',
        'viewCapabilities.errors-view.share:delete',
      ],
    });
  });

  it('answers EXPIRED for a token past its expiresAt, to the millisecond, and VALID just before', async () => {
    const created = await createToken({ expiresAt: inFuture(MINUTE) });
    harness.clock.advance(MINUTE - 1);
    expect(await verify({ token: created.token })).toMatchObject({ code: 'VALID' });
    const service = await verifier();
    harness.clock.advance(1);
    expect(await verify({ token: created.token }, service)).toEqual({ valid: false, code: 'EXPIRED' });
  });

  it('answers NOT_FOUND for an unknown secret, a malformed one, and an empty one', async () => {
    const service = await verifier();
    for (const token of [`xaat-${'A'.repeat(43)}`, 'not a secret at all', '']) {
      expect(await verify({ token }, service)).toEqual({ valid: false, code: 'NOT_FOUND' });
    }
  });

  it('answers NOT_FOUND on the verification right after a delete', async () => {
    const created = await createToken({});
    const service = await verifier();
    expect(await verify({ token: created.token }, service)).toMatchObject({ code: 'VALID' });
    await expectAnswer(
      harness.as(harness.adminSecret).delete(`/tokens/${created.id}`),
      'delete',
      '/tokens/{id}',
      204,
    );
    expect(await verify({ token: created.token }, service)).toEqual({ valid: false, code: 'NOT_FOUND' });
  });

  it('answers VALID for a regenerated token during its grace period, NOT_FOUND after it, and VALID for the replacement', async () => {
    const created = await createToken({});
    const service = await verifier();
    const { body: replacement } = await expectAnswer(
      harness
        .as(harness.adminSecret)
        .post(`/tokens/${created.id}/regenerate`, { existingTokenExpiresAt: inFuture(MINUTE) }),
      'post',
      '/tokens/{id}/regenerate',
      200,
    );
    expect(await verify({ token: created.token }, service)).toMatchObject({ code: 'VALID' });
    harness.clock.advance(MINUTE);
    expect(await verify({ token: created.token }, service)).toEqual({ valid: false, code: 'NOT_FOUND' });
    expect(await verify({ token: replacement.token }, service)).toMatchObject({
      code: 'VALID',
      token: { id: replacement.id },
    });
  });

  it('answers NOT_FOUND for a token regenerated with no grace period, at once', async () => {
    const created = await createToken({});
    const service = await verifier();
    await expectAnswer(
      harness
        .as(harness.adminSecret)
        .post(`/tokens/${created.id}/regenerate`, { existingTokenExpiresAt: inFuture(0) }),
      'post',
      '/tokens/{id}/regenerate',
      200,
    );
    expect(await verify({ token: created.token }, service)).toEqual({ valid: false, code: 'NOT_FOUND' });
  });
});

describe('verifyAPIToken and rate limits', () => {
  // A limit of 1 per second keeps each case to two requests in its window, however slow the machine.
  it('answers RATE_LIMITED with retryAfter once the verified token is over its limit, counting its own requests too', async () => {
    const limited = await createHarness({
      rateLimits: { failedAuthPerMinute: 0, requestsPerTokenPerSecond: 1 },
    });
    const created = (await limited.tokens.createToken(limited.admin, { name: 'busy', expiresAt: null }))
      .secret;
    // Two callers, one verification each: only the verified token goes over its limit.
    const [first, second] = await Promise.all(
      [0, 1].map(() => limited.callerWith({ orgCapabilities: { apiTokens: ['read'] } })),
    );
    const verdicts = [];
    for (const service of [first, second] as string[]) {
      const answer = await expectAnswer(
        limited.as(service).post('/tokens/verify', { token: created }),
        'post',
        '/tokens/verify',
        200,
      );
      verdicts.push(answer.body);
    }
    expect(verdicts[0].code).toBe('VALID');
    expect(verdicts[1]).toEqual({ valid: false, code: 'RATE_LIMITED', retryAfter: 1 });
    // The verified token's own requests are refused too: the verifications spent its limit.
    await expectAnswer(limited.as(created).get('/tokens'), 'get', '/tokens', 429);
  });

  it("counts every verification against the caller's own limit: past it, 429 with Retry-After, not a verdict", async () => {
    const limited = await createHarness({
      rateLimits: { failedAuthPerMinute: 0, requestsPerTokenPerSecond: 1 },
    });
    const service = await limited.callerWith({ orgCapabilities: { apiTokens: ['read'] } });
    const live = (await limited.tokens.createToken(limited.admin, { name: 'live', expiresAt: null })).secret;
    // Another caller's first verification compiles the operation's validators, which can take longer
    // than the one-second window on a busy machine.
    const warmUp = await limited.callerWith({ orgCapabilities: { apiTokens: ['read'] } });
    await limited.as(warmUp).post('/tokens/verify', { token: live }).expect(200);
    // Even a verification of something that is no secret at all is a request of the caller.
    await expectAnswer(
      limited.as(service).post('/tokens/verify', { token: 'not a secret at all' }),
      'post',
      '/tokens/verify',
      200,
    );
    const refused = await expectAnswer(
      limited.as(service).post('/tokens/verify', { token: live }),
      'post',
      '/tokens/verify',
      429,
    );
    expect(refused.headers['retry-after']).toMatch(/^[1-9]\d*$/);
    expect(refused.body).toEqual({
      code: 429,
      message: expect.stringMatching(/too many requests with this token/),
    });
  });
});
