// Verification has a price, guessing does not cost the store: malformed secrets and repeated unknown ones make no store reads (both stores).
import supertest from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { catalog, createHarness, type Harness, spec } from '../../test/harness.js';
import { createApp } from '../app.js';
import { NO_RATE_LIMITS } from '../http/rateLimits.js';
import { createLogger } from '../logger.js';
import type { TokenStore } from '../store/store.js';
import { generateSecret } from '../tokens/secrets.js';
import { TokenService } from '../tokens/service.js';

/** The store methods that read tokens; a verification or an authentication can only ever call these. */
const READS = new Set(['findByDigest', 'findById', 'list', 'count']);

/** `store`, counting each read. */
function countingReads(store: TokenStore): { store: TokenStore; reads: () => number } {
  let reads = 0;
  const counting = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (READS.has(String(property))) reads++;
        return value.apply(target, args);
      };
    },
  });
  return { store: counting, reads: () => reads };
}

/** 10,000 different secrets that cannot be ours: wrong prefix, length or alphabet, or a bad checksum. */
function malformedSecrets(): string[] {
  return Array.from({ length: 10_000 }, (_, i) => {
    const good = generateSecret();
    switch (i % 4) {
      case 0: {
        // The last checksum character changed: the format's regex passes, the checksum does not.
        const last = good.at(-1) === '0' ? '1' : '0';
        return good.slice(0, -1) + last;
      }
      case 1:
        return `xapt-${good.slice(5)}`;
      case 2:
        return good.slice(0, 40);
      default:
        return `${good.slice(0, 20)}!${good.slice(21)}`;
    }
  });
}

let harness: Harness;
let tokens: TokenService;
let reads: () => number;
beforeAll(async () => {
  harness = await createHarness();
  const counted = countingReads(harness.store);
  reads = counted.reads;
  tokens = new TokenService({ store: counted.store, catalog, clock: harness.clock });
});

describe('verifying and authenticating secrets that are not ours', () => {
  it('makes no more than a handful of store reads for 10,000 verifications of one unknown secret', async () => {
    const unknown = generateSecret();
    const before = reads();
    for (let i = 0; i < 10_000; i++) expect((await tokens.verify(unknown)).code).toBe('NOT_FOUND');
    expect(reads() - before).toBeLessThanOrEqual(2);
  });

  it('makes no store read for 10,000 malformed secrets, verified or presented as bearers', async () => {
    const secrets = malformedSecrets();
    const before = reads();
    const verdicts = new Set<string>();
    for (const secret of secrets) verdicts.add((await tokens.verify(secret)).code);
    for (const secret of secrets)
      if ((await tokens.authenticate(secret)) !== undefined) verdicts.add('VALID');
    expect([...verdicts]).toEqual(['NOT_FOUND']);
    expect(reads() - before).toBe(0);
  });

  it('still finds a live token, of either format, and reads the store for it', async () => {
    const live = (await tokens.createToken(harness.admin, { name: 'live', expiresAt: null })).secret;
    const before = reads();
    expect((await tokens.verify(live)).code).toBe('VALID');
    expect(reads() - before).toBeGreaterThan(0);
  });

  it('over HTTP: a malformed bearer is 401 and a malformed or repeated unknown secret NOT_FOUND, without store reads', async () => {
    const app = createApp({
      tokens,
      spec,
      logger: createLogger('silent'),
      validateResponses: true,
      rateLimits: NO_RATE_LIMITS,
    });
    const base = spec.servers[0]?.url ?? '';
    const caller = await harness.callerWith({ orgCapabilities: { apiTokens: ['read'] } });
    const unknown = generateSecret();
    // The caller's own token is read once (then cached); the unknown secret once (then remembered).
    await supertest(app)
      .post(`${base}/tokens/verify`)
      .set('Authorization', `Bearer ${caller}`)
      .send({ token: unknown });
    const before = reads();
    const malformed = malformedSecrets().slice(0, 40);
    for (const secret of malformed) {
      const refused = await supertest(app).get(`${base}/tokens`).set('Authorization', `Bearer ${secret}`);
      expect(refused.status).toBe(401);
      const verdict = await supertest(app)
        .post(`${base}/tokens/verify`)
        .set('Authorization', `Bearer ${caller}`)
        .send({ token: secret });
      expect(verdict.body).toEqual({ valid: false, code: 'NOT_FOUND' });
    }
    for (let i = 0; i < 40; i++) {
      const verdict = await supertest(app)
        .post(`${base}/tokens/verify`)
        .set('Authorization', `Bearer ${caller}`)
        .send({ token: unknown });
      expect(verdict.body).toEqual({ valid: false, code: 'NOT_FOUND' });
    }
    expect(reads() - before).toBe(0);
  });
});
