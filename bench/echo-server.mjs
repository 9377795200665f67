// The ceiling: a bare Express 5 app answering the same request and response shapes as the real server, doing nothing else.
// Given layers after the port (a comma-separated list of store, helmet, log, auth), it also does those
// parts of the real server's work, taken from its build, and nothing more; bench/floor.mjs uses that
// to price each part on its own.
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { loadSpec } from '../apps/api/dist/spec.js';
import { secret, token } from './shapes.mjs';

const spec = loadSpec();
const layers = new Set((process.argv[3] ?? '').split(',').filter(Boolean));
const app = express();

/** The real store on a file database (WAL, synchronous=FULL, group commit), as the server opens it. */
let store;
if (layers.has('store')) {
  const { SqliteTokenStore } = await import('../apps/api/dist/store/sqlite.js');
  store = new SqliteTokenStore(join(mkdtempSync(join(tmpdir(), 'api-tokens-echo-')), 'tokens.db'));
}

if (layers.has('helmet')) {
  const { default: helmet } = await import('helmet');
  app.use(helmet()); // as app.ts mounts it
}

if (layers.has('log')) {
  const { createLogger } = await import('../apps/api/dist/logger.js');
  const { logRequests } = await import('../apps/api/dist/http/requestLog.js');
  app.use(logRequests(app, createLogger('info')));
}

app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});

/** The server's `authenticate` (rate limit off, as in the bench): the secret's digest, then the auth cache. */
if (layers.has('auth')) {
  const { authenticate } = await import('../apps/api/dist/http/auth.js');
  const { FailedAuthenticationLimiter } = await import('../apps/api/dist/http/rateLimits.js');
  const { openStore } = await import('../apps/api/dist/store/index.js');
  const { readCapabilityCatalog } = await import('../apps/api/dist/spec.js');
  const { TokenService } = await import('../apps/api/dist/tokens/service.js');
  const { ADMIN } = await import('./lib.mjs');
  const tokens = new TokenService({
    store: await openStore('sqlite::memory:'),
    catalog: readCapabilityCatalog(spec),
    clock: () => new Date(),
  });
  await tokens.bootstrap(ADMIN);
  app.use(authenticate(tokens, new FailedAuthenticationLimiter(0)));
}

// The same body limit as the server's, read from the spec, as the server reads it.
app.use(express.json({ limit: spec.info['x-max-request-body-bytes'] }));
if (store === undefined) {
  // The bare echo, untouched by the layers: the ceiling npm run bench compares against.
  app.post('/v2/tokens', (req, res) => {
    res.json({ ...token, ...req.body, id: randomUUID(), token: secret });
  });
  app.get('/v2/tokens/:id', (req, res) => {
    res.json({ ...token, id: req.params.id });
  });
  app.post('/v2/tokens/verify', (_req, res) => {
    res.json({ valid: true, code: 'VALID', token });
  });
} else {
  app.post('/v2/tokens', async (req, res) => {
    const created = { ...token, ...req.body, id: randomUUID(), createdAt: new Date() };
    await store.insert(created, Buffer.from(randomUUID()));
    res.json({ ...created, token: secret });
  });
  app.get('/v2/tokens/:id', async (req, res) => {
    res.json(await store.findById(req.params.id, new Date()));
  });
}
app.listen(Number(process.argv[2]), '127.0.0.1');
