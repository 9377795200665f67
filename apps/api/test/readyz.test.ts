// GET /readyz: ready while the store answers, 503 in the usual JSON shape while it does not; no token needed.
import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { NO_RATE_LIMITS } from '../src/http/rateLimits.js';
import { createLogger } from '../src/logger.js';
import { SqliteTokenStore } from '../src/store/sqlite.js';
import { StoreUnavailableError } from '../src/store/store.js';
import { TokenService } from '../src/tokens/service.js';
import { catalog, spec } from './harness.js';

function appWith(checkReady: () => Promise<void>) {
  const store = new SqliteTokenStore(':memory:');
  return createApp({
    tokens: new TokenService({ store, catalog, clock: () => new Date() }),
    spec,
    logger: createLogger('silent'),
    validateResponses: true,
    rateLimits: NO_RATE_LIMITS,
    checkReady,
  });
}

describe('GET /readyz', () => {
  it("answers 200 while the store answers, as the store's ping says", async () => {
    const store = new SqliteTokenStore(':memory:');
    const answer = await supertest(appWith(() => store.ping())).get('/readyz');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ status: 'ok' });
    await store.close();
  });

  it('answers 503 with Retry-After and the usual error shape while the store cannot serve', async () => {
    const app = appWith(async () => {
      throw new StoreUnavailableError('cannot reach the database');
    });
    const answer = await supertest(app).get('/readyz');
    expect(answer.status).toBe(503);
    expect(answer.body).toEqual({
      code: 503,
      message: 'the token store is unavailable (cannot reach the database); nothing was changed, retry later',
    });
    expect(answer.headers['retry-after']).toMatch(/^\d+$/);
    // Liveness is not readiness: the process itself is fine.
    expect((await supertest(app).get('/healthz')).status).toBe(200);
  });
});
