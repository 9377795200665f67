// The audit trail: every token change and refused authentication, exactly once, with who, what, from where and which request.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEvent } from '@api-tokens/client';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recoverAdmin } from '../src/admin/recover.js';
import { AUDIT_EVENT_TYPES } from '../src/model.js';
import { componentSchema } from '../src/spec.js';
import { SqliteTokenStore } from '../src/store/sqlite.js';
import { expectAnswer } from './contract.js';
import { createHarness, type Harness, spec } from './harness.js';
import { PROCESS_TEST_TIMEOUT_MS, type ServerProcess, startServer } from './process.js';

const SECRET = /xaat-[0-9A-Za-z]{49}|xaat-[A-Za-z0-9_-]{43}/;
const MINUTE = 60_000;

let dir: string;
let harness: Harness;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'api-tokens-audit-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const auditor = () => harness.callerWith({ orgCapabilities: { auditLog: ['read'] } });

/** Every event the API answers for `query`, following Link to the end. */
async function allEvents(secret: string, query = ''): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  let path: string | undefined = `/audit/events${query}`;
  for (let pages = 0; path !== undefined; pages++) {
    expect(pages).toBeLessThan(100);
    const answer = await expectAnswer(harness.as(secret).get(path), 'get', '/audit/events', 200);
    events.push(...answer.body);
    const link = answer.headers.link as string | undefined;
    path = link === undefined ? undefined : /^<\/v2([^>]+)>; rel="next"$/.exec(link)?.[1];
  }
  return events;
}

/** The request-log line of the request with this id. */
const requestLine = (requestId: string) =>
  harness.logLines.map((line) => JSON.parse(line)).find((entry) => entry.reqId === requestId && entry.res);

/** The audit log lines, as logged. */
const auditLines = () =>
  harness.logLines.map((line) => JSON.parse(line)).filter((entry) => entry.audit === true);

describe('the audit trail of a real flow', () => {
  beforeEach(async () => {
    harness = await createHarness({ storePath: join(dir, 'tokens.db') });
  });

  it('records create, regenerate, delete and the bootstrap once each, with actor, target, client and request id, in the log too', async () => {
    const created = await expectAnswer(
      harness.createToken(harness.adminSecret, {
        name: 'shipper',
        datasetCapabilities: { logs: { ingest: ['create'] } },
      }),
      'post',
      '/tokens',
      200,
    );
    const regenerated = await expectAnswer(
      harness.as(harness.adminSecret).post(`/tokens/${created.body.id}/regenerate`, {
        existingTokenExpiresAt: new Date(harness.clock().getTime() + MINUTE).toISOString(),
      }),
      'post',
      '/tokens/{id}/regenerate',
      200,
    );
    await expectAnswer(
      harness.as(harness.adminSecret).delete(`/tokens/${regenerated.body.id}`),
      'delete',
      '/tokens/{id}',
      204,
    );

    const reader = await auditor(); // itself a token.created
    const events = await allEvents(reader);
    const admin = { tokenId: harness.admin.id, name: harness.admin.name };
    const ofType = (type: string) => events.filter((event) => event.type === type);

    expect(ofType('token.bootstrapped')).toEqual([
      expect.objectContaining({ actor: null, target: admin, client: null, requestId: null }),
    ]);
    const [shipperCreated] = ofType('token.created').filter((event) => event.target?.name === 'shipper');
    expect(ofType('token.created').filter((event) => event.target?.name === 'shipper')).toHaveLength(1);
    expect(shipperCreated).toMatchObject({
      actor: admin,
      target: { tokenId: created.body.id, name: 'shipper' },
      client: { address: expect.stringMatching(/127\.0\.0\.1/) },
      details: { datasetCapabilities: { logs: { ingest: ['create'] } }, expiresAt: null },
    });
    expect(requestLine(shipperCreated?.requestId ?? '')).toMatchObject({
      req: { method: 'POST', url: '/v2/tokens' },
      res: { statusCode: 200 },
    });
    expect(ofType('token.regenerated')).toEqual([
      expect.objectContaining({
        actor: admin,
        target: { tokenId: created.body.id, name: 'shipper' },
        details: expect.objectContaining({
          replacement: expect.objectContaining({ tokenId: regenerated.body.id, name: 'shipper' }),
        }),
      }),
    ]);
    expect(ofType('token.deleted')).toEqual([
      expect.objectContaining({ actor: admin, target: { tokenId: regenerated.body.id, name: 'shipper' } }),
    ]);
    // Newest first, and each exactly once in the log as answered.
    expect(events.map((event) => event.id)).toEqual([...events.map((event) => event.id)].sort().reverse());
    const logged = auditLines().map((line) => line.event);
    for (const event of events) expect(logged.filter((line) => line.id === event.id)).toEqual([event]);
  });

  it('records nothing for a refused or failed change', async () => {
    const reader = await auditor();
    const before = await allEvents(reader);
    const weak = await harness.callerWith({ orgCapabilities: { apiTokens: ['create'] } });
    const afterCaller = await allEvents(reader);
    // Escalation (403), bad input (400), unknown id (404), a second regenerate (409).
    await harness.createToken(weak, { name: 'x', orgCapabilities: { users: ['read'] } }).expect(403);
    await harness.createToken(harness.adminSecret, { name: '' }).expect(400);
    await harness.as(harness.adminSecret).delete(`/tokens/${crypto.randomUUID()}`).expect(404);
    const target = (await harness.createToken(harness.adminSecret, { name: 'once' })).body;
    const grace = { existingTokenExpiresAt: new Date(harness.clock().getTime() + MINUTE).toISOString() };
    await harness.as(harness.adminSecret).post(`/tokens/${target.id}/regenerate`, grace).expect(200);
    await harness.as(harness.adminSecret).post(`/tokens/${target.id}/regenerate`, grace).expect(409);
    const after = await allEvents(reader);
    expect(afterCaller).toHaveLength(before.length + 1);
    expect(after.slice(0, after.length - afterCaller.length).map((event) => event.type)).toEqual([
      'token.regenerated',
      'token.created',
    ]);
  });

  it('records a recovery as token.recovered, by the system', async () => {
    await harness.store.close();
    const path = join(dir, 'tokens.db');
    const recovered = await recoverAdmin(`sqlite:${path}`);
    const store = new SqliteTokenStore(path);
    try {
      const { events } = await store.listAuditEvents({ limit: 10, type: 'token.recovered' });
      expect(events).toEqual([
        expect.objectContaining({
          type: 'token.recovered',
          actor: null,
          target: { tokenId: recovered.id, name: recovered.name },
          provenance: null,
        }),
      ]);
    } finally {
      await store.close();
    }
  });

  it('holds no secret: not in any event, the log, or the database files', async () => {
    const secrets = [harness.adminSecret];
    for (let i = 0; i < 3; i++)
      secrets.push((await harness.createToken(harness.adminSecret, { name: `s${i}` })).body.token);
    const rotated = (await harness.createToken(harness.adminSecret, { name: 'rotated' })).body;
    secrets.push(rotated.token);
    const replacement = await harness
      .as(harness.adminSecret)
      .post(`/tokens/${rotated.id}/regenerate`, { existingTokenExpiresAt: harness.clock().toISOString() });
    secrets.push(replacement.body.token);
    await harness
      .as(`xaat-${'Q'.repeat(43)}`)
      .get('/tokens')
      .expect(401);
    await harness.tokens.flush();
    const reader = await auditor();
    const events = JSON.stringify(await allEvents(reader));
    const files = readdirSync(dir).map((name) => readFileSync(join(dir, name)).toString('latin1'));
    for (const secret of secrets) {
      expect(events).not.toContain(secret);
      expect(events).not.toContain(secret.slice(5));
      for (const line of harness.logLines) expect(line).not.toContain(secret);
      for (const file of files) expect(file).not.toContain(secret);
    }
    expect(events).not.toMatch(SECRET);
  });
});

describe('refused authentications', () => {
  beforeEach(async () => {
    harness = await createHarness({ storePath: join(dir, 'tokens.db') });
  });

  it('are counted per client address and minute: a flood adds one event with its count, and the table stays bounded', async () => {
    const flood = 300;
    const sent = [];
    for (let i = 0; i < flood; i++) {
      const secret = i % 3 === 0 ? undefined : i % 3 === 1 ? 'not a token' : `xaat-${'Z'.repeat(43)}`;
      sent.push(harness.as(secret).get('/tokens').expect(401));
      if (sent.length === 50) await Promise.all(sent.splice(0));
    }
    await Promise.all(sent);
    await harness.tokens.flush();
    // More in the same minute, written separately: merged into the same event.
    await harness.as(undefined).get('/tokens').expect(401);
    await harness.tokens.flush();

    const reader = await auditor();
    const refused = await allEvents(reader, '?type=auth.refused');
    expect(refused).toEqual([
      expect.objectContaining({
        type: 'auth.refused',
        actor: null,
        target: null,
        client: { address: expect.stringMatching(/127\.0\.0\.1/) },
        requestId: expect.any(String),
        details: { count: flood + 1 },
      }),
    ]);
    const db = new Database(join(dir, 'tokens.db'), { readonly: true });
    try {
      const rows = db.prepare("SELECT count(*) AS n FROM audit_events WHERE type = 'auth.refused'").get() as {
        n: number;
      };
      expect(rows.n).toBe(1);
    } finally {
      db.close();
    }
    // A new minute is a new event.
    harness.clock.advance(MINUTE);
    await harness.as(undefined).get('/tokens').expect(401);
    await harness.tokens.flush();
    expect(await allEvents(reader, '?type=auth.refused')).toHaveLength(2);
  });
});

describe('audit event types', () => {
  it("are the spec's AuditEventType, no more, no fewer", () => {
    expect([...AUDIT_EVENT_TYPES].sort()).toEqual(
      [...(componentSchema(spec, 'AuditEventType').enum ?? [])].sort(),
    );
  });
});

describe('GET /v2/audit/events', () => {
  beforeEach(async () => {
    harness = await createHarness();
  });

  it('refuses a caller without auditLog:read with 403, and an anonymous one with 401', async () => {
    const tokenReader = await harness.callerWith({ orgCapabilities: { apiTokens: ['read', 'create'] } });
    await expectAnswer(
      harness.as(tokenReader).get('/audit/events'),
      'get',
      '/audit/events',
      403,
      'orgCapabilities.auditLog',
    );
    await expectAnswer(harness.as(undefined).get('/audit/events'), 'get', '/audit/events', 401);
  });

  it('filters by type, by token (as actor or target) and by time, and walks pages newest first without gaps or repeats', async () => {
    const reader = await auditor();
    const made = [];
    for (let i = 0; i < 7; i++) {
      harness.clock.advance(1000);
      made.push((await harness.createToken(harness.adminSecret, { name: `t${i}` })).body);
    }
    const whole = await allEvents(reader);
    for (const limit of [1, 2, 3, 100]) expect(await allEvents(reader, `?limit=${limit}`)).toEqual(whole);
    expect(whole.map((event) => event.time)).toEqual([...whole.map((event) => event.time)].sort().reverse());

    const created = await allEvents(reader, '?type=token.created&limit=2');
    expect(created.every((event) => event.type === 'token.created')).toBe(true);
    expect(created).toHaveLength(8); // the reader and the seven

    const third = made[2];
    const aboutThird = await allEvents(reader, `?tokenId=${third.id.toUpperCase()}`);
    expect(aboutThird.map((event) => event.target?.tokenId)).toEqual([third.id]);
    const byAdmin = await allEvents(reader, `?tokenId=${harness.admin.id}&limit=3`);
    expect(byAdmin).toHaveLength(whole.length); // the admin made every event, or is its target

    const since = new Date(Date.parse(made[3].createdAt)).toISOString();
    const until = new Date(Date.parse(made[5].createdAt)).toISOString();
    const window = await allEvents(reader, `?since=${since}&until=${until}&limit=1`);
    expect(window.map((event) => event.target?.name)).toEqual(['t4', 't3']);
  });

  it('refuses bad filters with 400 naming them', async () => {
    const reader = await auditor();
    for (const [query, field] of [
      ['type=token.exploded', 'query.type'],
      ['tokenId=nope', 'query.tokenId'],
      ['since=yesterday', 'query.since'],
      ['limit=0', 'query.limit'],
      ['limit=1001', 'query.limit'],
      ['cursor=bm9wZQ', 'query.cursor'],
      ['who=me', 'query.who'],
    ]) {
      await expectAnswer(
        harness.as(reader).get(`/audit/events?${query}`),
        'get',
        '/audit/events',
        400,
        field,
      );
    }
  });
});

describe('an event and its change, across a crash', () => {
  let server: ServerProcess | undefined;
  afterEach(async () => {
    await server?.stop('SIGKILL');
  });

  it(
    'keeps the event of every acknowledged change after kill -9, and logs each once with audit: true',
    async () => {
      const admin = 'xaat-auditCrashAdminSecret01234567890123456789013SbaPi';
      const env = {
        DATABASE_URL: `sqlite:${join(dir, 'tokens.db')}`,
        BOOTSTRAP_TOKEN: admin,
        RATE_LIMIT_PER_TOKEN_PER_SEC: '0',
      };
      const headers = { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' };
      server = await startServer(env);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const answer = await fetch(`${server.baseUrl}/v2/tokens`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ name: `crash-${i}` }),
        });
        expect(answer.status).toBe(200);
        ids.push(((await answer.json()) as { id: string }).id);
      }
      // The log is read from a pipe: wait for the last event's line before reading them all.
      await server.logged(new RegExp(`"audit":true[^\\n]*"tokenId":"${ids.at(-1)}"`));
      const logged = server
        .stdout()
        .split('\n')
        .filter((line) => line.includes('"audit":true'))
        .map((line) => JSON.parse(line).event);
      expect(await server.stop('SIGKILL')).toBeNull();

      server = await startServer(env);
      const answer = await fetch(`${server.baseUrl}/v2/audit/events?type=token.created`, { headers });
      const events = (await answer.json()) as AuditEvent[];
      expect(events.map((event) => event.target?.tokenId).sort()).toEqual([...ids].sort());
      for (const id of ids) {
        expect(
          logged.filter((event) => event.target?.tokenId === id && event.type === 'token.created'),
        ).toHaveLength(1);
      }
    },
    PROCESS_TEST_TIMEOUT_MS * 2,
  );
});
