// The test harness: an app over a fresh store, the bootstrap admin, and callers minted with exactly the capabilities a case needs.
import type { Express } from 'express';
import supertest from 'supertest';
import { afterAll, afterEach, beforeEach, expect } from 'vitest';
import { createApp } from '../src/app.js';
import type { ApiReference } from '../src/http/docs.js';
import type { Metrics } from '../src/http/metrics.js';
import { NO_RATE_LIMITS, type RateLimitConfig } from '../src/http/rateLimits.js';
import { createLogger, logAuditEvents } from '../src/logger.js';
import type { Action, Capabilities } from '../src/model.js';
import { presentAuditEvent } from '../src/operations/present.js';
import { loadSpec, readCapabilityCatalog } from '../src/spec.js';
import { PostgresTokenStore } from '../src/store/postgres.js';
import { SqliteTokenStore } from '../src/store/sqlite.js';
import type { TokenStore } from '../src/store/store.js';
import { SCOPED_FIELDS, type ScopedField } from '../src/tokens/capabilities.js';
import { type Caller, TokenService } from '../src/tokens/service.js';
import { createTestDatabase, resetTestDatabase, type TestDatabase } from './postgres.js';

export const spec = loadSpec();
export const catalog = readCapabilityCatalog(spec);

/** Every per-name capability, as [field, capability, allowed actions]: datasets' and views' alike. */
export const scopedCapabilities: [ScopedField, string, readonly Action[]][] = SCOPED_FIELDS.flatMap((field) =>
  [...catalog.scoped[field]].map(([capability, actions]): [ScopedField, string, readonly Action[]] => [
    field,
    capability,
    actions,
  ]),
);

/** A valid name for a dataset or view, per the spec's DatasetName / ViewName. */
export const NAMES = { datasetCapabilities: 'logs.prod_1', viewCapabilities: 'errors-view' } as const;

/** A clock the test can move: expiry without waiting. */
export function manualClock(start = new Date('2030-01-01T00:00:00.000Z')) {
  let now = start.getTime();
  const clock = () => new Date(now);
  clock.advance = (ms: number) => {
    now += ms;
  };
  return clock;
}

export interface Harness {
  app: Express;
  store: TokenStore;
  tokens: TokenService;
  clock: ReturnType<typeof manualClock>;
  /** The bootstrap admin's secret: every capability, `*` for datasets. */
  adminSecret: string;
  admin: Caller;
  /** Every log line the app wrote, as JSON text. */
  logLines: string[];
  /** A new token holding exactly `capabilities`; its secret. */
  callerWith(
    capabilities: Partial<Capabilities>,
    options?: { expiresAt?: string; allowedCidrs?: string[]; notBefore?: string },
  ): Promise<string>;
  /** POST /v2/tokens with a JSON body, as `secret`. */
  createToken(secret: string | undefined, body: unknown): supertest.Test;
  /** Requests to the API as `secret` (anonymous when undefined); paths are relative to the base path. */
  as(secret: string | undefined): {
    get(path: string): supertest.Test;
    post(path: string, body: unknown): supertest.Test;
    delete(path: string): supertest.Test;
  };
}

export interface HarnessOptions {
  /** A database file; default in memory. SQLite only (see TEST_STORE). */
  storePath?: string;
  busyTimeoutMs?: number;
  /** Default: none, so that cases making many failed or rapid requests are not refused for it. */
  rateLimits?: RateLimitConfig;
  corsOrigins?: string[];
  /** Default: none, so /metrics answers 404 and nothing is measured. */
  metrics?: Metrics;
  /** Default: none, so /docs, /openapi.json and /openapi.yaml answer 404. */
  apiReference?: ApiReference;
  /** TRUST_PROXY; default off. */
  trustProxy?: boolean | number | string;
  /** The spec the app mounts; default the project's own. */
  spec?: typeof spec;
  /** MAX_TOKEN_LIFETIME in milliseconds; default none. */
  maxLifetimeMs?: number;
}

/** Every harness made in this test file, so the setup file can check their logs when the file ends. */
export const harnesses: Harness[] = [];

/**
 * TEST_STORE=postgres (the `postgres` vitest project): harnesses run on PostgreSQL, on a database
 * of the test file's own (PG_TEST_URL's server), emptied for each harness and dropped at the end.
 */
const onPostgres = process.env.TEST_STORE === 'postgres';
let postgresDatabase: Promise<TestDatabase> | undefined;
/**
 * Open PostgreSQL stores, by the case that made them (undefined: made in beforeAll, kept for the
 * whole file). A store made by an earlier case is closed when a later case makes one, so that
 * connections never pile up; all are closed when the file ends.
 */
const openPostgresStores: { store: TokenStore; madeBy: string | undefined }[] = [];
if (onPostgres) {
  afterAll(async () => {
    await Promise.all(openPostgresStores.splice(0).map(({ store }) => store.close()));
    await (await postgresDatabase)?.drop();
  });
}

async function openHarnessStore(options: HarnessOptions): Promise<TokenStore> {
  if (!onPostgres) {
    return new SqliteTokenStore(options.storePath ?? ':memory:', { busyTimeoutMs: options.busyTimeoutMs });
  }
  postgresDatabase ??= createTestDatabase();
  const { url } = await postgresDatabase;
  const madeBy = expect.getState().currentTestName;
  const earlier = openPostgresStores.filter((open) => open.madeBy !== undefined && open.madeBy !== madeBy);
  for (const open of earlier) openPostgresStores.splice(openPostgresStores.indexOf(open), 1);
  await Promise.all(earlier.map(({ store }) => store.close()));
  // A new, empty store for each harness, as SQLite's in-memory one is; within one case, a second
  // harness shares the first's database (none of the files run here makes two at once).
  if (!openPostgresStores.some((open) => open.madeBy === madeBy)) await resetTestDatabase(url);
  const store = await PostgresTokenStore.open(url, { poolSize: 4, purgeEveryMs: 0 });
  openPostgresStores.push({ store, madeBy });
  return store;
}

export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  const clock = manualClock();
  const store = await openHarnessStore(options);
  const logLines: string[] = [];
  const logger = createLogger('debug', { write: (line: string) => void logLines.push(line) });
  const tokens = new TokenService({
    store,
    catalog,
    clock,
    onAuditEvent: logAuditEvents(logger, presentAuditEvent),
    maxLifetimeMs: options.maxLifetimeMs,
  });
  const bootstrapped = await tokens.bootstrap();
  const adminSecret = bootstrapped?.generatedSecret;
  if (adminSecret === undefined) throw new Error('harness: expected an empty store');
  const admin = await tokens.authenticate(adminSecret);
  if (admin === undefined) throw new Error('harness: the bootstrap token does not authenticate');
  // That use settles the admin's apiLastUsed now (the clock stands still unless a case moves it),
  // not a second later, in the middle of a case comparing two listings.
  await tokens.flush();
  const app = createApp({
    tokens,
    spec: options.spec ?? spec,
    logger,
    validateResponses: true,
    rateLimits: options.rateLimits ?? NO_RATE_LIMITS,
    corsOrigins: options.corsOrigins,
    metrics: options.metrics,
    apiReference: options.apiReference,
    trustProxy: options.trustProxy,
  });

  const base = spec.servers[0]?.url ?? '';
  const as: Harness['as'] = (secret) => {
    const authorized = (request: supertest.Test) =>
      secret === undefined ? request : request.set('Authorization', `Bearer ${secret}`);
    return {
      get: (path) => authorized(supertest(app).get(base + path)),
      post: (path, body) => authorized(supertest(app).post(base + path)).send(body as object),
      delete: (path) => authorized(supertest(app).delete(base + path)),
    };
  };

  const harness: Harness = {
    app,
    store,
    tokens,
    clock,
    adminSecret,
    admin,
    logLines,
    async callerWith(capabilities, { expiresAt, allowedCidrs, notBefore } = {}) {
      const created = await tokens.createToken(admin, {
        name: 'test caller',
        expiresAt: expiresAt === undefined ? null : new Date(expiresAt),
        allowedCidrs,
        notBefore: notBefore === undefined ? null : new Date(notBefore),
        ...capabilities,
      });
      return created.secret;
    },
    createToken: (secret, body) => as(secret).post('/tokens', body),
    as,
  };
  harnesses.push(harness);
  return harness;
}

/** Registers a check after every case of the file: the case left as many tokens stored as it found. */
export function expectNoTokenChangeAfterEach(current: () => Harness): void {
  let before = 0;
  beforeEach(async () => {
    before = await current().store.count();
  });
  afterEach(async () => {
    expect(await current().store.count(), 'a refused request must change nothing').toBe(before);
  });
}
