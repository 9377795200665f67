// Response headers of a JSON API: security headers on, framework fingerprint off, CORS off.
import supertest from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});

describe('response headers', () => {
  it.each([
    ['an answer', () => harness.as(harness.adminSecret).get('/tokens')],
    ['an error', () => harness.as(undefined).get('/tokens')],
    ['the health check', () => supertest(harness.app).get('/healthz')],
  ])('on %s: security headers, no X-Powered-By', async (_, request) => {
    const answer = await request();
    expect(answer.headers['x-powered-by']).toBeUndefined();
    expect(answer.headers['x-content-type-options']).toBe('nosniff');
    expect(answer.headers['content-security-policy']).toContain("default-src 'self'");
    expect(answer.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(answer.headers['referrer-policy']).toBe('no-referrer');
    expect(answer.headers['content-type']).toMatch(/^application\/json; charset=utf-8/);
  });

  it('grants no cross-origin access, to simple or preflight requests', async () => {
    const simple = await harness.as(harness.adminSecret).get('/tokens').set('Origin', 'https://evil.example');
    expect(simple.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await supertest(harness.app)
      .options('/v2/tokens')
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'POST');
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect(preflight.headers['access-control-allow-methods']).toBeUndefined();
  });
});

describe('CORS_ORIGINS', () => {
  const allowed = 'https://console.example.com';
  it('lets exactly the configured origins call from a browser, preflight included', async () => {
    const configured = await createHarness({ corsOrigins: [allowed] });
    const preflight = await supertest(configured.app)
      .options('/v2/tokens')
      .set('Origin', allowed)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization,content-type');
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(allowed);
    expect(preflight.headers['access-control-allow-headers']).toMatch(/Authorization/);
    const simple = await configured.as(configured.adminSecret).get('/tokens').set('Origin', allowed);
    expect(simple.status).toBe(200);
    expect(simple.headers['access-control-allow-origin']).toBe(allowed);
    expect(simple.headers['access-control-expose-headers']).toMatch(/Link/);

    const other = await configured
      .as(configured.adminSecret)
      .get('/tokens')
      .set('Origin', 'https://evil.example');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});
