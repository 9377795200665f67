// requireToken in a small Express app, against real api-tokens server processes: every answer the guard gives.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ApiToken,
  type CreateApiToken,
  type CreateApiTokenResponse,
  createApiToken,
  createClient,
  deleteApiToken,
  generateSecret,
  type RequiredCapabilities,
} from '@api-tokens/client';
import express from 'express';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createHarness } from '../../../apps/api/test/harness.js';
import { PROCESS_TEST_TIMEOUT_MS, type ServerProcess, startServer } from '../../../apps/api/test/process.js';
import { type RequireTokenOptions, requireToken } from '../src/index.js';

const ADMIN = 'xaat-expressGuardTestAdmin01234567890123456789012oYUNp';
const UNKNOWN = `xaat-${'0'.repeat(43)}`;

interface TokenServer {
  process: ServerProcess;
  dir: string;
  baseUrl: string;
  /** Creates a token as the admin; answers it with its secret. */
  create(body: CreateApiToken): Promise<CreateApiTokenResponse>;
  revoke(id: string): Promise<void>;
}

async function startTokenServer(env: Record<string, string> = {}): Promise<TokenServer> {
  const dir = mkdtempSync(join(tmpdir(), 'api-tokens-express-'));
  const process = await startServer({
    DATABASE_URL: `sqlite:${join(dir, 'tokens.db')}`,
    BOOTSTRAP_TOKEN: ADMIN,
    ...env,
  });
  const baseUrl = `${process.baseUrl}/v2`;
  const admin = createClient({ baseUrl, auth: ADMIN });
  return {
    process,
    dir,
    baseUrl,
    async create(body) {
      // The admin's requests count against RATE_LIMIT_PER_TOKEN_PER_SEC like any token's: past it the
      // server answers 429, and this waits as Retry-After says, as a client would (a few times at most).
      for (let attempt = 1; ; attempt++) {
        const { data, error, response } = await createApiToken({ client: admin, body });
        if (data !== undefined) return data;
        if (response.status !== 429 || attempt === 5) {
          throw new Error(`create: HTTP ${response.status} ${JSON.stringify(error)}`);
        }
        const seconds = Number(response.headers.get('retry-after'));
        await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      }
    },
    async revoke(id) {
      await deleteApiToken({ client: admin, path: { id }, throwOnError: true });
    },
  };
}

async function stopTokenServer(server: TokenServer | undefined) {
  if (server === undefined) return;
  await server.process.stop();
  rmSync(server.dir, { recursive: true, force: true });
}

interface Consumer {
  url: string;
  /** How many requests reached a handler behind the guard. */
  handled: () => number;
  close(): Promise<void>;
}

/**
 * A receiving service: `GET /any` needs any live token, `POST /ingest/:dataset` needs ingest on that
 * dataset (required asynchronously, as from a lookup), `GET /cached` any live token with verdicts cached.
 * Each handler answers the token the guard set.
 */
async function startConsumer(guard: Omit<RequireTokenOptions, 'require'>): Promise<Consumer> {
  let handled = 0;
  const app = express();
  const answer = (req: express.Request, res: express.Response) => {
    handled += 1;
    res.json({ apiToken: req.apiToken });
  };
  app.get('/any', requireToken(guard), answer);
  app.post(
    '/ingest/:dataset',
    requireToken({
      ...guard,
      require: async (req) => ({
        datasetCapabilities: { [String(req.params.dataset)]: { ingest: ['create'] } },
      }),
    }),
    answer,
  );
  app.get('/cached', requireToken({ ...guard, cacheTtlMs: 10 * 60_000 }), answer);
  app.get(
    '/broken',
    requireToken({
      ...guard,
      require: () => {
        throw new Error('the route could not say what it needs');
      },
    }),
    answer,
  );
  app.get(
    '/misconfigured',
    requireToken({
      ...guard,
      // A capability the spec does not know: the token service refuses the verification as malformed.
      require: () => ({ orgCapabilities: { teleport: ['read'] } }) as RequiredCapabilities,
    }),
    answer,
  );
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).json({ code: 500, message: `consumer error handler: ${err.message}` });
  });
  const server = await listen(app);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    handled: () => handled,
    close: () => close(server),
  };
}

function listen(handler: Parameters<typeof createServer>[1]): Promise<Server> {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** What the consumer answers: a handler's `{ apiToken }`, or the guard's `{ code, message }`. */
interface Answered {
  apiToken: ApiToken;
  code: number;
  message: string;
}

/** A request to the consumer with `authorization` (none when undefined); answers status, headers and body. */
async function call(consumer: Consumer, method: string, path: string, authorization?: string) {
  const response = await fetch(`${consumer.url}${path}`, {
    method,
    headers: authorization === undefined ? {} : { Authorization: authorization },
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Answered };
}

const withoutSecret = ({ token: _secret, apiLastUsed: _used, ...token }: CreateApiTokenResponse) => token;
const sameToken = (token: ApiToken | undefined) => {
  const { apiLastUsed: _used, ...rest } = token ?? ({} as ApiToken);
  return rest;
};

let tokens: TokenServer;
let service: CreateApiTokenResponse;
let consumer: Consumer;

beforeAll(async () => {
  tokens = await startTokenServer();
  service = await tokens.create({ name: 'ingest-gateway', orgCapabilities: { apiTokens: ['read'] } });
  consumer = await startConsumer({ baseUrl: tokens.baseUrl, serviceToken: service.token });
}, PROCESS_TEST_TIMEOUT_MS);

afterAll(async () => {
  await consumer?.close();
  await stopTokenServer(tokens);
}, PROCESS_TEST_TIMEOUT_MS);

describe('requireToken lets through', () => {
  it('a live token holding what the route requires, and sets req.apiToken to it', async () => {
    const shipper = await tokens.create({
      name: 'shipper',
      datasetCapabilities: { logs: { ingest: ['create'] } },
    });
    const before = consumer.handled();
    const answer = await call(consumer, 'POST', '/ingest/logs', `Bearer ${shipper.token}`);
    expect(answer.status).toBe(200);
    expect(sameToken(answer.body.apiToken)).toEqual(withoutSecret(shipper));
    expect(consumer.handled()).toBe(before + 1);
  });

  it('a token holding the action on dataset *, for any dataset', async () => {
    const everywhere = await tokens.create({
      name: 'star',
      datasetCapabilities: { '*': { ingest: ['create'] } },
    });
    for (const dataset of ['logs', 'metrics']) {
      const answer = await call(consumer, 'POST', `/ingest/${dataset}`, `Bearer ${everywhere.token}`);
      expect(answer.status).toBe(200);
      expect(answer.body.apiToken.id).toBe(everywhere.id);
    }
  });

  it('any live token where nothing is required, the scheme name in any case', async () => {
    const bare = await tokens.create({ name: 'bare' });
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const answer = await call(consumer, 'GET', '/any', `${scheme} ${bare.token}`);
      expect(answer.status).toBe(200);
      expect(answer.body.apiToken.id).toBe(bare.id);
    }
  });
});

describe('requireToken refuses with 401', () => {
  it('a request without a bearer token, challenging without an error code', async () => {
    const before = consumer.handled();
    for (const authorization of [undefined, 'Basic dXNlcjpwYXNz']) {
      const answer = await call(consumer, 'GET', '/any', authorization);
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="api-tokens"');
      expect(answer.body).toEqual({
        code: 401,
        message: 'missing bearer token: send Authorization: Bearer <token>',
      });
    }
    expect(consumer.handled()).toBe(before);
  });

  it('an unknown or malformed token, with error="invalid_token", never echoing it', async () => {
    for (const secret of [UNKNOWN, 'not a token']) {
      const answer = await call(consumer, 'POST', '/ingest/logs', `Bearer ${secret}`);
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="api-tokens", error="invalid_token"');
      expect(answer.body.code).toBe(401);
      expect(answer.body.message).toMatch(/^(the bearer token is unknown or revoked|malformed bearer token)/);
      expect(JSON.stringify(answer.body)).not.toContain(secret);
    }
  });

  it('a token past its expiresAt', async () => {
    // A token service in this process, on a clock the test moves: the token expires without a wait.
    const service = await createHarness();
    const server = service.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const local = await startConsumer({
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2`,
      serviceToken: service.adminSecret,
    });
    try {
      const expiresAt = new Date(service.clock().getTime() + 60_000);
      const brief = (
        await service.createToken(service.adminSecret, {
          name: 'brief',
          expiresAt: expiresAt.toISOString(),
        })
      ).body as CreateApiTokenResponse;
      expect((await call(local, 'GET', '/any', `Bearer ${brief.token}`)).status).toBe(200);
      service.clock.advance(60_000); // its expiresAt: from this millisecond on it is expired
      const answer = await call(local, 'GET', '/any', `Bearer ${brief.token}`);
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toContain('error="invalid_token"');
      expect(answer.body).toEqual({ code: 401, message: 'the bearer token has expired: use a live token' });
    } finally {
      await local.close();
      await new Promise((resolve) => server.close(resolve));
      await service.store.close();
    }
  });

  it('a token on the very next request after it is revoked', async () => {
    const revoked = await tokens.create({ name: 'revoked' });
    expect((await call(consumer, 'GET', '/any', `Bearer ${revoked.token}`)).status).toBe(200);
    await tokens.revoke(revoked.id);
    const answer = await call(consumer, 'GET', '/any', `Bearer ${revoked.token}`);
    expect(answer.status).toBe(401);
    expect(answer.body.message).toBe('the bearer token is unknown or revoked');
  });
});

describe('requireToken refuses with 403', () => {
  it('a live token without what the route requires, naming each missing action', async () => {
    const reader = await tokens.create({
      name: 'reader',
      datasetCapabilities: { logs: { ingest: ['create'], query: ['read'] } },
    });
    const before = consumer.handled();
    const answer = await call(consumer, 'POST', '/ingest/metrics', `Bearer ${reader.token}`);
    expect(answer.status).toBe(403);
    expect(answer.headers.get('www-authenticate')).toBe(
      'Bearer realm="api-tokens", error="insufficient_scope"',
    );
    expect(answer.body).toEqual({
      code: 403,
      message: 'the bearer token lacks what this request needs: datasetCapabilities.metrics.ingest:create',
    });
    expect(consumer.handled()).toBe(before);
  });
});

describe('requireToken answers other refusals', () => {
  it('400 when the request names a dataset that cannot exist, even for a token holding dataset *', async () => {
    const everywhere = await tokens.create({
      name: 'star2',
      datasetCapabilities: { '*': { ingest: ['create'] } },
    });
    const before = consumer.handled();
    const answer = await call(consumer, 'POST', '/ingest/-bad', `Bearer ${everywhere.token}`);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      code: 400,
      message:
        "this request names a dataset or view that cannot exist: \"-bad\" is not a valid dataset name: use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit, or '*' for every dataset",
    });
    expect(consumer.handled()).toBe(before);
  });

  it("hands a require the token service refuses as malformed to Express's error handling, letting nothing through", async () => {
    const bare = await tokens.create({ name: 'bare3' });
    const before = consumer.handled();
    const answer = await call(consumer, 'GET', '/misconfigured', `Bearer ${bare.token}`);
    expect(answer.status).toBe(500);
    expect(answer.body.message).toMatch(
      /^consumer error handler: requireToken: the token service refused the verification of this route's require \(HTTP 400\): body\.require\.orgCapabilities/,
    );
    expect(answer.body.message).not.toContain(bare.token);
    expect(consumer.handled()).toBe(before);
  });

  it("hands a failing require function's error to Express, letting nothing through", async () => {
    const bare = await tokens.create({ name: 'bare2' });
    const before = consumer.handled();
    const answer = await call(consumer, 'GET', '/broken', `Bearer ${bare.token}`);
    expect(answer.status).toBe(500);
    expect(answer.body.message).toBe('consumer error handler: the route could not say what it needs');
    expect(consumer.handled()).toBe(before);
  });
});

describe('requireToken with cacheTtlMs', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets a revoked token through until its verdict is cacheTtlMs old, then refuses it', async () => {
    // Only Date is faked: the guard's cache reads Date.now(); fetch, sockets and timers stay real.
    vi.useFakeTimers({ toFake: ['Date'] });
    const cached = await tokens.create({ name: 'cached' });
    expect((await call(consumer, 'GET', '/cached', `Bearer ${cached.token}`)).status).toBe(200);
    await tokens.revoke(cached.id);
    // The uncached route sees the revocation at once; the cached one still has its verdict.
    expect((await call(consumer, 'GET', '/any', `Bearer ${cached.token}`)).status).toBe(401);
    const within = await call(consumer, 'GET', '/cached', `Bearer ${cached.token}`);
    expect(within.status).toBe(200);
    expect(within.body.apiToken.id).toBe(cached.id);

    vi.setSystemTime(Date.now() + 10 * 60_000);
    const after = await call(consumer, 'GET', '/cached', `Bearer ${cached.token}`);
    expect(after.status).toBe(401);
  });
});

describe('requireToken fails closed with 503', () => {
  it("when the service's own token is unknown or lacks apiTokens: read, never echoing a secret", async () => {
    const weak = await tokens.create({ name: 'weak-service', orgCapabilities: { dashboards: ['read'] } });
    const user = await tokens.create({ name: 'user' });
    for (const serviceToken of [UNKNOWN, weak.token]) {
      const misconfigured = await startConsumer({ baseUrl: tokens.baseUrl, serviceToken });
      try {
        const answer = await call(misconfigured, 'GET', '/any', `Bearer ${user.token}`);
        expect(answer.status).toBe(503);
        expect(answer.headers.get('retry-after')).toBe('5');
        expect(answer.body.message).toMatch(
          /^cannot check the bearer token: the token service refused this service's own token \(HTTP 40[13]\): the serviceToken must be live and hold apiTokens: read/,
        );
        expect(JSON.stringify(answer.body)).not.toContain(serviceToken);
        expect(JSON.stringify(answer.body)).not.toContain(user.token);
        expect(misconfigured.handled()).toBe(0);
      } finally {
        await misconfigured.close();
      }
    }
  });

  it('when the token service answers 5xx, something that is not a verdict, or nothing in time', async () => {
    const behaviours: [string, Parameters<typeof createServer>[1], RegExp][] = [
      [
        '500',
        (_req, res) => {
          res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"code":500,"message":"boom"}');
        },
        /the token service answered HTTP 500/,
      ],
      [
        'not a verdict',
        (_req, res) => {
          res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"valid":true}');
        },
        /the token service sent no verdict/,
      ],
      [
        'not JSON',
        (_req, res) => {
          res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"valid":');
        },
        /could not be read/,
      ],
      ['silence', () => {}, /the token service did not answer within 200 ms/],
    ];
    for (const [name, behaviour, message] of behaviours) {
      const fake = await listen(behaviour);
      const guarded = await startConsumer({
        baseUrl: `http://127.0.0.1:${(fake.address() as AddressInfo).port}/v2`,
        serviceToken: 'xaat-service',
        timeoutMs: 200,
      });
      try {
        const answer = await call(guarded, 'GET', '/any', `Bearer ${UNKNOWN}`);
        expect(answer.status, name).toBe(503);
        expect(answer.headers.get('retry-after'), name).toMatch(/^\d+$/);
        expect(answer.body.code, name).toBe(503);
        expect(answer.body.message, name).toMatch(message);
        expect(guarded.handled(), name).toBe(0);
      } finally {
        await guarded.close();
        await close(fake);
      }
    }
  });

  it('a bearer failing the format or checksum, without asking the token service; NOT_FOUND verdicts cached', async () => {
    let verifications = 0;
    const fake = await listen((_req, res) => {
      verifications += 1;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"valid":false,"code":"NOT_FOUND"}');
    });
    const guarded = await startConsumer({
      baseUrl: `http://127.0.0.1:${(fake.address() as AddressInfo).port}/v2`,
      serviceToken: 'xaat-service',
    });
    try {
      const good = generateSecret();
      const badChecksum = `${good.slice(0, -1)}${good.endsWith('0') ? '1' : '0'}`;
      for (const secret of [badChecksum, 'xaat-anything', `xaat-${'0'.repeat(49)}`, 'a'.repeat(54)]) {
        const answer = await call(guarded, 'GET', '/cached', `Bearer ${secret}`);
        expect(answer.status, secret).toBe(401);
        expect(answer.headers.get('www-authenticate'), secret).toMatch(/error="invalid_token"/);
        expect(answer.body.message, secret).not.toContain(secret);
      }
      expect(verifications).toBe(0);
      // A well-formed unknown secret is asked about once, then its NOT_FOUND is remembered (cacheTtlMs).
      for (let i = 0; i < 3; i++) {
        expect((await call(guarded, 'GET', '/cached', `Bearer ${good}`)).status).toBe(401);
      }
      expect(verifications).toBe(1);
      expect(guarded.handled()).toBe(0);
    } finally {
      await guarded.close();
      await close(fake);
    }
  });

  it(
    'when the token service has stopped',
    async () => {
      const doomed = await startTokenServer();
      try {
        const doomedService = await doomed.create({ name: 'svc', orgCapabilities: { apiTokens: ['read'] } });
        const user = await doomed.create({ name: 'user' });
        const guarded = await startConsumer({ baseUrl: doomed.baseUrl, serviceToken: doomedService.token });
        try {
          expect((await call(guarded, 'GET', '/any', `Bearer ${user.token}`)).status).toBe(200);
          expect(await doomed.process.stop()).toBe(0);
          const answer = await call(guarded, 'GET', '/any', `Bearer ${user.token}`);
          expect(answer.status).toBe(503);
          expect(answer.headers.get('retry-after')).toBe('5');
          expect(answer.body).toEqual({
            code: 503,
            message: 'cannot check the bearer token: the token service cannot be reached; retry later',
          });
          expect(guarded.handled()).toBe(1);
        } finally {
          await guarded.close();
        }
      } finally {
        await stopTokenServer(doomed);
      }
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});

describe('requireToken with a rate-limited token service', () => {
  let limited: TokenServer;
  beforeAll(async () => {
    limited = await startTokenServer({ RATE_LIMIT_PER_TOKEN_PER_SEC: '2' });
  }, PROCESS_TEST_TIMEOUT_MS);
  afterAll(() => stopTokenServer(limited), PROCESS_TEST_TIMEOUT_MS);

  it('answers 429 with Retry-After once the token is over its limit', async () => {
    const limitedService = await limited.create({ name: 'svc', orgCapabilities: { apiTokens: ['read'] } });
    const user = await limited.create({ name: 'busy' });
    const guarded = await startConsumer({ baseUrl: limited.baseUrl, serviceToken: limitedService.token });
    try {
      // A first verification, of another token, compiles the token service's validators (slow once).
      const other = await limited.create({ name: 'warm-up' });
      expect((await call(guarded, 'GET', '/any', `Bearer ${other.token}`)).status).toBe(200);
      // The user's own requests spend its limit (2 per second); the service's verification then finds it over.
      const self = () =>
        fetch(`${limited.baseUrl}/tokens/self`, { headers: { Authorization: `Bearer ${user.token}` } });
      await Promise.all([self(), self(), self()]);
      const answer = await call(guarded, 'GET', '/any', `Bearer ${user.token}`);
      expect(answer.status).toBe(429);
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(answer.body.code).toBe(429);
      expect(answer.body.message).toMatch(/^too many requests with this token: retry after \d+ s$/);
      expect(guarded.handled()).toBe(1); // the warm-up alone
    } finally {
      await guarded.close();
    }
  });

  it("answers 503 with Retry-After once the service's own token is over its limit: verifications count", async () => {
    const limitedService = await limited.create({ name: 'svc', orgCapabilities: { apiTokens: ['read'] } });
    const user = await limited.create({ name: 'user' });
    const guarded = await startConsumer({ baseUrl: limited.baseUrl, serviceToken: limitedService.token });
    try {
      // Ten at once: at most two verifications fit in the second they arrive in. The user's token
      // has a limit of its own, which its verifications spend too, and whose second may begin a
      // little later than the service token's: a verification in between finds the user over it (429).
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => call(guarded, 'GET', '/any', `Bearer ${user.token}`)),
      );
      const refused = answers.filter((answer) => answer.status === 503);
      expect(refused.length).toBeGreaterThan(0);
      expect(answers.filter((answer) => ![200, 429, 503].includes(answer.status))).toEqual([]);
      for (const answer of refused) {
        expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(answer.body.message).toMatch(/the token service answered HTTP 429/);
      }
      for (const answer of answers.filter(({ status }) => status === 429)) {
        expect(answer.body.message).toMatch(/^too many requests with this token: retry after \d+ s$/);
      }
      expect(guarded.handled()).toBe(answers.filter(({ status }) => status === 200).length);
    } finally {
      await guarded.close();
    }
  });
});

describe('requireToken and a token bound to networks', () => {
  it('passes req.ip as the client address: lets the token through from inside its networks, 403 from outside', async () => {
    // The consumer listens on 127.0.0.1, so req.ip is 127.0.0.1: a bound token passes only if the
    // guard tells the token service where it came from (a bound token is never valid from nowhere).
    const inside = await tokens.create({ name: 'loopback-only', allowedCidrs: ['127.0.0.0/8'] });
    const outside = await tokens.create({ name: 'elsewhere-only', allowedCidrs: ['203.0.113.0/24'] });
    const before = consumer.handled();

    const allowed = await call(consumer, 'GET', '/any', `Bearer ${inside.token}`);
    expect(allowed.status).toBe(200);
    expect(allowed.body.apiToken.allowedCidrs).toEqual(['127.0.0.0/8']);

    const refused = await call(consumer, 'GET', '/any', `Bearer ${outside.token}`);
    expect(refused.status).toBe(403);
    expect(refused.body.message).toContain('127.0.0.1');
    expect(refused.body.message).not.toContain('203.0.113');
    expect(consumer.handled()).toBe(before + 1);
  });
});
