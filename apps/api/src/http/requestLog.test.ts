// The request log: one line per request with the fields to trace it, no header, and the request's id on every line about it.
import supertest from 'supertest';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHarness, type Harness } from '../../test/harness.js';
import { StoreUnavailableError } from '../store/store.js';

let harness: Harness;
beforeEach(async () => {
  harness = await createHarness();
});
afterEach(() => {
  vi.restoreAllMocks();
});

const linesAbout = (reqId: string) =>
  harness.logLines.map((line) => JSON.parse(line)).filter((entry) => entry.reqId === reqId);

const completedLines = () =>
  harness.logLines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'request completed');

describe('request log', () => {
  it('logs a request once, with method, URL, status, duration and the caller, and no header', async () => {
    const reader = await harness.callerWith({ orgCapabilities: { apiTokens: ['read'] } });
    const id = harness.admin.id;
    await harness.as(reader).get(`/tokens/${id}?x=1`).expect(400);
    await harness.as(reader).get(`/tokens/${id}`).expect(200);

    const [refused, answered] = completedLines();
    expect(answered).toMatchObject({
      level: 30,
      req: { method: 'GET', url: `/v2/tokens/${id}` },
      res: { statusCode: 200 },
      tokenId: (await harness.tokens.authenticate(reader))?.id,
    });
    expect(answered.responseTime).toEqual(expect.any(Number));
    expect(refused).toMatchObject({ req: { url: `/v2/tokens/${id}?x=1` }, res: { statusCode: 400 } });
    // UUIDv7s: unique, and in the order the requests arrived.
    expect(answered.reqId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    expect(answered.reqId > refused.reqId).toBe(true);
    for (const line of harness.logLines) expect(line).not.toMatch(/authorization|headers/i);
  });

  it('leaves the token out when the caller is anonymous', async () => {
    await harness.as(undefined).get('/tokens').expect(401);
    const [line] = completedLines();
    expect(line).toMatchObject({ res: { statusCode: 401 } });
    expect(line).not.toHaveProperty('tokenId');
  });

  it('logs a 500 once, at error level, with the error on that line', async () => {
    await harness.store.close(); // every store call now throws: a bug, not an unavailable store
    await harness.as(harness.adminSecret).get(`/tokens/${harness.admin.id}`).expect(500);

    const [completed] = completedLines();
    expect(completed).toMatchObject({ level: 50, res: { statusCode: 500 } });
    expect(completed.err).toMatchObject({ message: expect.any(String), stack: expect.any(String) });
    const about = linesAbout(completed.reqId);
    expect(about.map((entry) => entry.msg)).toEqual(['request received', 'request completed']);
  });

  it('logs a 503 (the store unavailable) once, as a warning naming the reason, not as an error', async () => {
    vi.spyOn(harness.store, 'findById').mockRejectedValue(
      new StoreUnavailableError('the database is restarting', { cause: new Error('57P01') }),
    );
    await harness.as(harness.adminSecret).get(`/tokens/${harness.admin.id}`).expect(503);

    const [completed] = completedLines();
    expect(completed).toMatchObject({
      level: 40,
      res: { statusCode: 503 },
      storeUnavailable: 'the database is restarting',
    });
    expect(linesAbout(completed.reqId).map((entry) => entry.msg)).toEqual([
      'request received',
      'request completed',
    ]);
    expect(harness.logLines.map((line) => JSON.parse(line).level)).not.toContain(50);
  });
});

describe('client address', () => {
  it('logs the TCP peer and, beside it, the client address the limits and audit use', async () => {
    const behindProxy = await createHarness({ trustProxy: 1 });
    await supertest(behindProxy.app).get('/healthz').set('X-Forwarded-For', '198.51.100.7').expect(200);
    const [line] = behindProxy.logLines
      .map((text) => JSON.parse(text))
      .filter((entry) => entry.msg === 'request completed');
    expect(line.req).toMatchObject({
      remoteAddress: expect.stringMatching(/127\.0\.0\.1/),
      clientAddress: '198.51.100.7',
    });
  });

  it('logs the TCP peer as the client address when no proxy is trusted, whatever X-Forwarded-For says', async () => {
    await supertest(harness.app).get('/healthz').set('X-Forwarded-For', '198.51.100.7').expect(200);
    const [line] = completedLines();
    expect(line.req.clientAddress).toBe(line.req.remoteAddress);
    expect(line.req.clientAddress).not.toBe('198.51.100.7');
  });
});

describe('secrets in URLs never reach the log', () => {
  it('keeps a secret sent in the URL out of every line, at debug level too, and out of the answer', async () => {
    const secret = harness.adminSecret;
    await harness.as(secret).get(`/tokens?access_token=${secret}`);
    await harness.as(secret).get(`/tokens?limit=1&cursor=${secret}`);
    await harness.as(secret).get(`/tokens/${secret}`);
    const notFound = await harness.as(secret).get(`/${secret}`);
    const wrongMethod = await supertest(harness.app)
      .put(`/v2/tokens/${secret}`)
      .set('Authorization', `Bearer ${secret}`);
    expect(notFound.status).toBe(404);
    expect(wrongMethod.status).toBe(405);
    for (const answer of [notFound, wrongMethod]) expect(JSON.stringify(answer.body)).not.toContain(secret);
    const received = harness.logLines.filter((line) => line.includes('request received'));
    expect(received.length).toBeGreaterThanOrEqual(5); // the harness logs at debug: arrival lines too
    const secretBody = secret.slice('xaat-'.length);
    for (const line of harness.logLines) expect(line).not.toContain(secretBody);
    expect(completedLines().map((entry) => entry.req.url)).toContain('/v2/tokens?access_token=[redacted]');
  });
});
