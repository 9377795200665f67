// GET /metrics, on its own listener (never the API port): Prometheus text with the request histogram by spec route, the token counters and the cached live count; no secret, id or name in any label.
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import supertest from 'supertest';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { LIVE_TOKENS_REFRESH_MS, Metrics, UNMATCHED_ROUTE } from '../src/http/metrics.js';
import { createMetricsApp } from '../src/http/metricsListener.js';
import { StoreUnavailableError } from '../src/store/store.js';
import { createHarness, type Harness, spec } from './harness.js';
import { PROCESS_TEST_TIMEOUT_MS, startServer } from './process.js';
import { openStream } from './sse.js';

const NAMES = [
  'http_request_duration_seconds',
  'api_tokens_created_total',
  'api_tokens_revoked_total',
  'api_tokens_authentications_total',
  'api_tokens_store_errors_total',
  'api_tokens_live',
];
const basePath = spec.servers[0]?.url ?? '';
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus's text format, the samples only. */
function parseSamples(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (match === null) throw new Error(`not a sample line: ${line}`);
      const labels = Object.fromEntries(
        [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((pair) => [pair[1], pair[2]]),
      );
      return { name: match[1] as string, labels, value: Number(match[3]) };
    });
}

let harness: Harness;
let metrics: Metrics;
/** What the metrics listener (METRICS_PORT) serves. */
let metricsApp: ReturnType<typeof createMetricsApp>;
let now = 0;
let counts = 0;
let countTokens: () => Promise<number>;

beforeAll(async () => {
  metrics = new Metrics({
    countTokens: () => {
      counts++;
      return countTokens();
    },
    now: () => now,
  });
  harness = await createHarness({ metrics });
  metricsApp = createMetricsApp(metrics);
});
beforeEach(() => {
  countTokens = () => harness.store.count();
});

async function scrape(): Promise<{ text: string; samples: Sample[] }> {
  const answer = await supertest(metricsApp).get('/metrics');
  expect(answer.status).toBe(200);
  return { text: answer.text, samples: parseSamples(answer.text) };
}

/** The value of the one sample with this name and these labels (among others); 0 when there is none. */
async function sampled(name: string, labels: Record<string, string> = {}): Promise<number> {
  const { samples } = await scrape();
  const found = samples.filter(
    (sample) =>
      sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  return found.reduce((sum, sample) => sum + sample.value, 0);
}

const requestCount = (route: string, method: string, status: number) =>
  sampled('http_request_duration_seconds_count', { route, method, status_code: String(status) });

describe('GET /metrics', () => {
  it('answers 404 on the API app, and only /metrics on the metrics listener', async () => {
    const onApi = await supertest(harness.app).get('/metrics');
    expect(onApi.status).toBe(404);
    expect(onApi.body).toEqual({ code: 404, message: 'GET /metrics: no such route' });
    const elsewhere = await supertest(metricsApp).get('/v2/tokens');
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.body.code).toBe(404);
  });

  it('answers without a token, in the Prometheus text format, with the default and the service metrics', async () => {
    const answer = await supertest(metricsApp).get('/metrics');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4; charset=utf-8/);
    for (const name of NAMES) expect(answer.text).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    // prom-client's default process and Node metrics.
    expect(answer.text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(answer.text).toMatch(/^nodejs_heap_size_total_bytes /m);
  });

  it('counts a revocation stream once it ends, by the time it took to open, never as a request still in flight', async () => {
    const route = `${basePath}/tokens/revocations`;
    const server = harness.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const address = server.address() as AddressInfo;
      const before = await requestCount(route, 'GET', 200);
      const stream = await openStream(`http://127.0.0.1:${address.port}${route}`, {
        secret: harness.adminSecret,
      });
      expect(stream.status).toBe(200);
      expect(await requestCount(route, 'GET', 200), 'not while it is open').toBe(before);
      stream.close();
      await vi.waitFor(async () => expect(await requestCount(route, 'GET', 200)).toBe(before + 1), {
        timeout: 10_000,
        interval: 10,
      });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('labels each request with the route template of the spec, never the path sent', async () => {
    const id = (await harness.createToken(harness.adminSecret, { name: 'labelled' }).expect(200)).body.id;
    const admin = harness.as(harness.adminSecret);
    const paths = Object.keys(spec.paths);
    const before = await Promise.all(paths.map((path) => requestCount(basePath + path, 'GET', 200)));
    await admin.get('/tokens').expect(200);
    await admin.get(`/tokens/${id}`).expect(200);
    await admin.get(`/tokens/${id}/regenerate`).expect(405);
    const after = await Promise.all(paths.map((path) => requestCount(basePath + path, 'GET', 200)));
    // One GET answered 200 on each of the two paths requested, none on any other of the spec's.
    const requested = new Set(['/tokens', '/tokens/{id}']);
    expect(after.map((count, index) => count - (before[index] as number))).toEqual(
      paths.map((path) => (requested.has(path) ? 1 : 0)),
    );
    expect(await requestCount(`${basePath}/tokens/{id}/regenerate`, 'GET', 405)).toBe(1);

    const unmatched = await requestCount(UNMATCHED_ROUTE, 'GET', 404);
    await supertest(harness.app).get(`/nowhere/${id}`).expect(404);
    await admin.get(`/tokens/${id}/more/segments`).expect(404);
    expect(await requestCount(UNMATCHED_ROUTE, 'GET', 404)).toBe(unmatched + 2);
    await supertest(harness.app).get('/healthz').expect(200);
    expect(await requestCount('/healthz', 'GET', 200)).toBeGreaterThan(0);

    const { samples } = await scrape();
    const routes = new Set(
      samples
        .filter((sample) => sample.name.startsWith('http_request_'))
        .map((sample) => sample.labels.route),
    );
    const known = [...paths.map((path) => basePath + path), '/healthz', UNMATCHED_ROUTE];
    expect([...routes].filter((route) => !known.includes(route as string))).toEqual([]);
  });

  it('counts tokens created and revoked by successful operations only', async () => {
    const admin = harness.as(harness.adminSecret);
    const created = await sampled('api_tokens_created_total');
    const deleted = await sampled('api_tokens_revoked_total', { reason: 'delete' });
    const regenerated = await sampled('api_tokens_revoked_total', { reason: 'regenerate' });

    const first = (await harness.createToken(harness.adminSecret, { name: 'counted' }).expect(200)).body.id;
    await harness.createToken(harness.adminSecret, { name: '' }).expect(400);
    const replacement = (
      await admin
        .post(`/tokens/${first}/regenerate`, { existingTokenExpiresAt: '2020-01-01T00:00:00Z' })
        .expect(200)
    ).body.id;
    await admin
      .post(`/tokens/${first}/regenerate`, { existingTokenExpiresAt: '2020-01-01T00:00:00Z' })
      .expect(404);
    await admin.delete(`/tokens/${replacement}`).expect(204);
    await admin.delete(`/tokens/${replacement}`).expect(404);

    expect(await sampled('api_tokens_created_total')).toBe(created + 2);
    expect(await sampled('api_tokens_revoked_total', { reason: 'delete' })).toBe(deleted + 1);
    expect(await sampled('api_tokens_revoked_total', { reason: 'regenerate' })).toBe(regenerated + 1);
  });

  it.each([
    ['missing', undefined],
    ['malformed', 'Basic dXNlcjpwYXNz'],
    ['unknown', `Bearer xaat-${'A'.repeat(43)}`],
    ['success', 'admin'],
  ])('counts a %s authentication', async (result, header) => {
    const before = await sampled('api_tokens_authentications_total', { result });
    const request = supertest(harness.app).get(`${basePath}/tokens`);
    if (header !== undefined) {
      request.set('Authorization', header === 'admin' ? `Bearer ${harness.adminSecret}` : header);
    }
    await request.expect(header === 'admin' ? 200 : 401);
    expect(await sampled('api_tokens_authentications_total', { result })).toBe(before + 1);
  });

  it('counts a store error by its reason', async () => {
    const before = await sampled('api_tokens_store_errors_total', { reason: 'disk full' });
    const spy = vi
      .spyOn(harness.store, 'findById')
      .mockRejectedValueOnce(new StoreUnavailableError('disk full'));
    try {
      await harness.as(harness.adminSecret).get(`/tokens/${UNKNOWN_ID}`).expect(503);
    } finally {
      spy.mockRestore();
    }
    expect(await sampled('api_tokens_store_errors_total', { reason: 'disk full' })).toBe(before + 1);
  });

  it('counts the live tokens at most once per refresh interval', async () => {
    now += LIVE_TOKENS_REFRESH_MS;
    const countsBefore = counts;
    const live = await sampled('api_tokens_live');
    expect(live).toBe(await harness.store.count());
    await harness.createToken(harness.adminSecret, { name: 'not yet counted' }).expect(200);
    expect(await sampled('api_tokens_live')).toBe(live);
    expect(counts).toBe(countsBefore + 1);

    now += LIVE_TOKENS_REFRESH_MS;
    expect(await sampled('api_tokens_live')).toBe(live + 1);
    expect(counts).toBe(countsBefore + 2);
  });

  it('keeps the last live count when the store cannot count, counts the error, and tries again', async () => {
    // Read directly: a scrape would count again, and a failing count races with the reading of the counter.
    const storeErrors = async () =>
      (await metrics.storeErrors.get()).values.find((value) => value.labels.reason === 'database is locked')
        ?.value ?? 0;
    now += LIVE_TOKENS_REFRESH_MS;
    const live = await sampled('api_tokens_live');
    const errors = await storeErrors();
    countTokens = () => Promise.reject(new StoreUnavailableError('database is locked'));
    now += LIVE_TOKENS_REFRESH_MS;
    expect(await sampled('api_tokens_live')).toBe(live);
    expect(await storeErrors()).toBe(errors + 1);
    countTokens = () => harness.store.count();
    await harness.createToken(harness.adminSecret, { name: 'counted after the failure' }).expect(200);
    expect(await sampled('api_tokens_live')).toBe(live + 1);
  });

  it('holds no secret, token id or token name in any label or value', async () => {
    const name = 'name-that-must-not-leak';
    const made = (await harness.createToken(harness.adminSecret, { name }).expect(200)).body;
    await harness.as(made.token).get(`/tokens/${made.id}`).expect(403);
    await supertest(harness.app).get(`/nowhere/${made.token}`).expect(404);
    const { text } = await scrape();
    for (const secret of [harness.adminSecret, made.token, made.id, name, 'xaat-']) {
      expect(text).not.toContain(secret);
    }
  });
});

describe('Metrics', () => {
  it('labels a store error whose reason is not a short fixed phrase as other', async () => {
    const metrics = new Metrics();
    metrics.observeStoreError(new StoreUnavailableError(`row ${UNKNOWN_ID} is locked`));
    metrics.observeStoreError(new Error('not a store error'));
    const samples = parseSamples(await metrics.registry.metrics()).filter(
      (sample) => sample.name === 'api_tokens_store_errors_total',
    );
    expect(samples).toEqual([
      { name: 'api_tokens_store_errors_total', labels: { reason: 'other' }, value: 1 },
    ]);
  });

  it('shows no live count before one succeeded', async () => {
    metrics = new Metrics({
      countTokens: () => Promise.reject(new StoreUnavailableError('disk full')),
    });
    const samples = parseSamples(await metrics.registry.metrics());
    expect(samples.filter((sample) => sample.name === 'api_tokens_live')).toEqual([]);
  });
});

describe('METRICS', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('serves /metrics on its own listener, on loopback, and 404 on the API port; nothing when off', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'api-tokens-metrics-'));
    const databaseUrl = `sqlite:${join(dir, 'tokens.db')}`;
    try {
      // process.ts passes METRICS_PORT=0, so the listener takes any free port and logs it.
      const on = await startServer({ DATABASE_URL: databaseUrl });
      try {
        expect(on.stdout()).toMatch(/"metricsHost":"127\.0\.0\.1","metricsPort":\d+/);
        expect(on.metricsUrl).toBeDefined();
        expect(on.metricsUrl).not.toBe(on.baseUrl);
        const answer = await fetch(`${on.metricsUrl}/metrics`);
        expect(answer.status).toBe(200);
        // The bootstrap admin, counted from the real store.
        expect(parseSamples(await answer.text())).toContainEqual({
          name: 'api_tokens_live',
          labels: {},
          value: 1,
        });
        const onApi = await fetch(`${on.baseUrl}/metrics`);
        expect(onApi.status).toBe(404);
        expect(await onApi.json()).toEqual({ code: 404, message: 'GET /metrics: no such route' });
      } finally {
        await on.stop();
      }
      const off = await startServer({ DATABASE_URL: databaseUrl, METRICS: 'off' });
      try {
        expect(off.metricsUrl).toBeUndefined();
        const answer = await fetch(`${off.baseUrl}/metrics`);
        expect(answer.status).toBe(404);
        expect(await answer.json()).toEqual({ code: 404, message: 'GET /metrics: no such route' });
      } finally {
        await off.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
