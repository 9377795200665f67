// Webhooks end to end within one process, on both stores: every token event reaches a real receiver signed, survives the receiver failing, and expiry notices go out once.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import supertest from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { catalog, spec } from '../../test/harness.js';
import { createTestDatabase, resetTestDatabase, type TestDatabase } from '../../test/postgres.js';
import {
  bodyOf,
  deliveredIds,
  idOf,
  type Received,
  type Receiver,
  startReceiver,
} from '../../test/webhookReceiver.js';
import { createApp } from '../app.js';
import { createLogger } from '../logger.js';
import { presentAuditEvent } from '../operations/present.js';
import { PostgresTokenStore } from '../store/postgres.js';
import { SqliteTokenStore } from '../store/sqlite.js';
import type { TokenStore } from '../store/store.js';
import { type Caller, TokenService } from '../tokens/service.js';
import { listDeliveries } from './deliveries.js';
import { scanExpiries } from './expiry.js';
import { webhookMessages } from './messages.js';
import { DeliveryWorker } from './worker.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const HOUR = 60 * 60 * 1000;
const PROVENANCE = { address: '127.0.0.1', requestId: 'test' };

/** Checks a request's signature with the standardwebhooks package's own verifier; throws if it does not hold. */
const verified = (request: Received) =>
  new Webhook(SECRET).verify(request.body, request.headers as Record<string, string>);

interface Setup {
  store: TokenStore;
  tokens: TokenService;
  worker: DeliveryWorker;
  admin: Caller;
  receiver: Receiver;
}

let database: TestDatabase | undefined;
const running: (() => Promise<void>)[] = [];
/** What the workers could not read or write: none, in every case. */
const errors: Error[] = [];
afterEach(async () => {
  for (const stop of running.splice(0).reverse()) await stop();
  expect(errors.splice(0)).toEqual([]);
});
afterAll(async () => {
  await database?.drop();
});

describe.each(['sqlite', 'postgres'] as const)('webhooks on %s', (kind) => {
  beforeAll(async () => {
    if (kind === 'postgres') database ??= await createTestDatabase();
  });

  async function openStore(outbox: ReturnType<typeof webhookMessages>): Promise<TokenStore> {
    if (kind === 'sqlite') return new SqliteTokenStore(':memory:', { outbox, purgeEveryMs: 0 });
    const url = (database as TestDatabase).url;
    await resetTestDatabase(url);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(
      "DO $$ BEGIN IF to_regclass('webhook_outbox') IS NOT NULL THEN TRUNCATE webhook_outbox, webhook_expiry_notices, webhook_gone_urls; END IF; END $$",
    );
    await client.end();
    return PostgresTokenStore.open(url, { outbox, purgeEveryMs: 0, poolSize: 4 });
  }

  async function setup(
    worker: { firstRetryMs?: number; timeoutMs?: number; clock?: () => Date } = {},
    /** Receivers at further URLs, after the first. */
    others: Receiver[] = [],
  ): Promise<Setup> {
    const receiver = await startReceiver();
    running.push(() => receiver.close());
    const urls = [receiver.url, ...others.map((other) => other.url)];
    const store = await openStore(webhookMessages(urls, presentAuditEvent));
    running.push(() => store.close());
    const delivery = new DeliveryWorker({
      store,
      secret: SECRET,
      firstRetryMs: worker.firstRetryMs ?? 20,
      timeoutMs: worker.timeoutMs,
      clock: worker.clock,
      pollEveryMs: 20,
      onError: (err) => errors.push(err),
    });
    const tokens = new TokenService({
      store,
      catalog,
      clock: () => new Date(),
      onAuditEvent: () => delivery.wake(),
    });
    const bootstrapped = await tokens.bootstrap();
    const admin = await tokens.authenticate(bootstrapped?.generatedSecret as string);
    delivery.start();
    running.push(() => delivery.stop());
    return { store, tokens, worker: delivery, admin: admin as Caller, receiver };
  }

  it('sends every token event to the receiver, signed, with the audit event as the API shows it and no secret', async () => {
    const { tokens, admin, receiver, store } = await setup();
    const created = await tokens.createToken(admin, { name: 'ci', expiresAt: null }, PROVENANCE);
    const replacement = await tokens.regenerateToken(
      admin,
      created.token.id,
      { existingTokenExpiresAt: new Date(Date.now() + HOUR) },
      PROVENANCE,
    );
    await tokens.revokeLeakedSecrets([replacement.secret], 'github', PROVENANCE);
    const other = await tokens.createToken(admin, { name: 'other', expiresAt: null }, PROVENANCE);
    await tokens.deleteToken(other.token.id, { caller: admin, provenance: PROVENANCE });

    const types = ['token.created', 'token.regenerated', 'token.leaked', 'token.created', 'token.deleted'];
    await receiver.waitFor((received) => received.length >= types.length);
    expect(receiver.received.map((request) => bodyOf(request).type).sort()).toEqual([...types].sort());
    const trail = (await store.listAuditEvents({ limit: 100 })).events;
    for (const request of receiver.received) {
      expect(() => verified(request)).not.toThrow();
      const body = bodyOf(request);
      const event = trail.find((candidate) => candidate.id === body.data.id);
      expect(event).toBeDefined();
      expect(body).toEqual({
        type: event?.type,
        timestamp: event?.time.toISOString(),
        data: JSON.parse(JSON.stringify(presentAuditEvent(event as NonNullable<typeof event>))),
      });
      expect(request.headers['webhook-id']).toBe(`msg_${body.data.id}`);
      expect(request.headers['content-type']).toBe('application/json');
      for (const secret of [created.secret, replacement.secret, other.secret])
        expect(request.body).not.toContain(secret);
      expect(request.body).not.toMatch(/xaat-/);
    }
    // A tampered body fails the same verifier: the signature covers it.
    const first = receiver.received[0] as Received;
    expect(() => verified({ ...first, body: first.body.replace('"token.', '"tokens.') })).toThrow();
  });

  it('retries a receiver that fails until it recovers, with the same webhook-id, and records the outcome', async () => {
    const { tokens, admin, receiver, store } = await setup();
    let failures = 0;
    receiver.answer = () => (failures++ < 3 ? 503 : 200);
    await tokens.createToken(admin, { name: 'retried', expiresAt: null });
    await receiver.waitFor((received) => deliveredIds(received).length === 1);
    expect(receiver.received.map((request) => request.status)).toEqual([503, 503, 503, 200]);
    expect(new Set(receiver.received.map(idOf)).size).toBe(1);
    for (const request of receiver.received) expect(() => verified(request)).not.toThrow();
    // Recorded once the answer is in: wait for the record, not for time.
    await expect
      .poll(async () => (await store.listDeliveries({ limit: 10 })).deliveries[0]?.status)
      .toBe('delivered');
    const [delivery] = (await store.listDeliveries({ limit: 10 })).deliveries;
    expect(delivery).toMatchObject({
      status: 'delivered',
      attempts: 4,
      nextAttemptAt: null,
      lastStatus: 200,
      lastError: null,
    });
    expect(await store.countPendingDeliveries()).toBe(0);
  });

  it('retries a receiver that does not answer in time', async () => {
    const { tokens, admin, receiver, store } = await setup({ timeoutMs: 200 });
    receiver.answer = () => 'hold';
    await tokens.createToken(admin, { name: 'slow', expiresAt: null });
    const first = async () => (await store.listDeliveries({ limit: 10 })).deliveries[0];
    await expect
      .poll(async () => (await first())?.attempts ?? 0, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(2);
    expect(await first()).toMatchObject({
      status: 'pending',
      lastStatus: null,
      lastError: 'timed out after 0.2 s',
    });
  });

  it('stops a URL whose receiver answers 410 Gone: that event and later ones are gone, and nothing more reaches it', async () => {
    const live = await startReceiver();
    running.push(() => live.close());
    const { tokens, admin, receiver: gone, store } = await setup({}, [live]);
    gone.answer = () => 410;
    const toGone = async (name: string) =>
      (await store.listDeliveries({ limit: 50 })).deliveries.find(
        (delivery) => delivery.url === gone.url && JSON.parse(delivery.body).data.target.name === name,
      );
    await tokens.createToken(admin, { name: 'first', expiresAt: null });
    await expect.poll(async () => (await toGone('first'))?.status, { timeout: 10_000 }).toBe('gone');
    expect(await toGone('first')).toMatchObject({ attempts: 1, lastStatus: 410, nextAttemptAt: null });

    // A later event: the other URL gets it; the round that sent it marked the gone URL's delivery
    // gone without sending it (one claim does both), so once it is delivered there, the gone URL is done.
    await tokens.createToken(admin, { name: 'later', expiresAt: null });
    await live.waitFor((received) =>
      received.some((request) => bodyOf(request).data.target.name === 'later'),
    );
    await expect.poll(async () => (await toGone('later'))?.status, { timeout: 10_000 }).toBe('gone');
    expect(await toGone('later')).toMatchObject({ attempts: 0, lastStatus: null, nextAttemptAt: null });
    expect(gone.received.map((request) => bodyOf(request).data.target.name)).toEqual(['first']);
    // Every event reached the other URL: only the receiver that answered 410 is stopped.
    await live.waitFor((received) => deliveredIds(received).length === 2);
    await expect.poll(() => store.countPendingDeliveries(), { timeout: 10_000 }).toBe(0);
    expect(gone.received).toHaveLength(1);
  });

  it('sends token.expiring once a day before expiry and token.expired once, however often the scan runs', async () => {
    // The scan and the worker share a clock a case can move on (the tokens' own is the real one).
    let offset = 0;
    const { tokens, admin, receiver, store, worker } = await setup({
      clock: () => new Date(Date.now() + offset),
    });
    const now = Date.now();
    const soon = await tokens.createToken(admin, { name: 'soon', expiresAt: new Date(now + 12 * HOUR) });
    const week = await tokens.createToken(admin, { name: 'week', expiresAt: new Date(now + 3 * 24 * HOUR) });
    await tokens.createToken(admin, { name: 'never', expiresAt: null });
    const notices = () =>
      receiver.received
        .map(bodyOf)
        .filter((body) => body.type !== 'token.created')
        .map((body) => `${body.type} ${body.data.target.name} ${body.data.details.within ?? ''}`.trim());

    for (let scan = 0; scan < 3; scan++) await scanExpiries(store, new Date(now));
    worker.wake();
    await receiver.waitFor(() => notices().length >= 2);
    // Past the week token's 1-day mark and the soon token's expiry: the next notices, each once.
    offset = 2 * 24 * HOUR + HOUR;
    for (let scan = 0; scan < 3; scan++) await scanExpiries(store, new Date(Date.now() + offset));
    worker.wake();
    await receiver.waitFor(() => notices().length >= 4);
    await expect.poll(() => store.countPendingDeliveries()).toBe(0);
    expect(notices().sort()).toEqual([
      'token.expired soon',
      'token.expiring soon 1d',
      'token.expiring week 1d',
      'token.expiring week 7d',
    ]);
    const expiring = receiver.received.map(bodyOf).find((body) => body.type === 'token.expiring');
    expect(expiring.data.details.expiresAt).toBe(
      (expiring.data.target.name === 'soon' ? soon : week).token.expiresAt?.toISOString(),
    );
    // And the audit trail has each notice once too.
    const trail = (await store.listAuditEvents({ limit: 100 })).events;
    expect(trail.filter((event) => event.type === 'token.expiring')).toHaveLength(3);
    expect(trail.filter((event) => event.type === 'token.expired')).toHaveLength(1);
  });

  it('answers GET /webhooks/deliveries to an auditLog reader, newest first, paged, and refuses others', async () => {
    const { tokens, admin, receiver, store } = await setup();
    receiver.answer = () => 500;
    const logger = createLogger('silent');
    const app = createApp({
      tokens,
      spec,
      logger,
      validateResponses: true,
      rateLimits: { failedAuthPerMinute: 0, requestsPerTokenPerSecond: 0, leakReportsPerMinute: 0 },
      listDeliveries: listDeliveries(store),
    });
    const reader = await tokens.createToken(admin, {
      name: 'reader',
      expiresAt: null,
      orgCapabilities: { auditLog: ['read'] },
    });
    const outsider = await tokens.createToken(admin, { name: 'outsider', expiresAt: null });
    await receiver.waitFor((received) => new Set(received.map(idOf)).size >= 2);
    const page = await supertest(app)
      .get('/v2/webhooks/deliveries?limit=1')
      .set('Authorization', `Bearer ${reader.secret}`)
      .expect(200);
    expect(page.body).toHaveLength(1);
    expect(page.body[0]).toMatchObject({
      type: 'token.created',
      url: receiver.url,
      eventId: expect.any(String),
    });
    expect(page.body[0].webhookId).toBe(`msg_${page.body[0].eventId}`);
    const next = /^<\/v2([^>]+)>; rel="next"$/.exec(page.headers.link as string)?.[1];
    const rest = await supertest(app)
      .get(`/v2${next}`)
      .set('Authorization', `Bearer ${reader.secret}`)
      .expect(200);
    expect(rest.body[0].eventId).not.toBe(page.body[0].eventId);
    const all = await supertest(app)
      .get('/v2/webhooks/deliveries')
      .set('Authorization', `Bearer ${reader.secret}`)
      .expect(200);
    expect(all.body.length).toBeGreaterThanOrEqual(2);
    expect(
      all.body.some(
        (delivery: { attempts: number; lastStatus: number | null }) =>
          delivery.attempts >= 1 && delivery.lastStatus === 500,
      ),
    ).toBe(true);
    await supertest(app)
      .get('/v2/webhooks/deliveries')
      .set('Authorization', `Bearer ${outsider.secret}`)
      .expect(403);
  });
});
