// The floor npm run bench holds the API to: the bare echo plus the work no token service can drop,
// each done the cheapest sound way: helmet, one pino JSON line per request through pino's
// asynchronous destination (as a service tuned for throughput logs), the bearer secret's SHA-256
// digest looked up in memory (401 when unknown), and express-openapi-validator on the same spec,
// configured and mounted as the server mounts it (the design card makes it part of every request).
// No store, no capabilities, no rate limits.
import { createHash, randomUUID } from 'node:crypto';
import express from 'express';
import helmet from 'helmet';
import { pino } from 'pino';
import { validateAgainstSpec } from '../apps/api/dist/http/specValidation.js';
import { loadSpec } from '../apps/api/dist/spec.js';
import { ADMIN } from './lib.mjs';
import { secret, token } from './shapes.mjs';

const digest = (text) => createHash('sha256').update(text).digest('base64url');
// The admin creates; every created token answers with the fixed secret, so a reader (or a verified
// token) made here is known too.
const known = new Map([
  [digest(ADMIN), { id: randomUUID() }],
  [digest(secret), { id: token.id }],
]);

const logger = pino({ level: 'info' }, pino.destination({ sync: false }));
const spec = loadSpec();
const app = express();
app.disable('x-powered-by');
app.disable('etag');
app.use(helmet());

app.use((req, res, next) => {
  const started = performance.now();
  res.once('close', () => {
    logger.info(
      {
        req: { method: req.method, url: req.originalUrl, remoteAddress: req.socket.remoteAddress },
        res: { statusCode: res.statusCode },
        tokenId: res.locals.caller?.id,
        responseTime: Math.round(performance.now() - started),
      },
      'request completed',
    );
  });
  next();
});

app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});

app.use((req, res, next) => {
  const header = req.headers.authorization ?? '';
  const caller = header.startsWith('Bearer ') ? known.get(digest(header.slice(7))) : undefined;
  if (caller === undefined) {
    res.status(401).json({ code: 401, message: 'authorization: send a valid token as "Bearer <token>"' });
    return;
  }
  res.locals.caller = caller;
  next();
});

// As the server mounts them (operations/index.ts): one router under the spec's base path, the body
// read only where the operation takes one, then the validator, then the handler.
const validate = validateAgainstSpec(spec);
const readBody = express.json({ limit: spec.info['x-max-request-body-bytes'] });
const api = express.Router();
api.post('/tokens/verify', readBody, ...validate, (req, res) => {
  // The verdict a digest lookup gives, without capabilities: VALID for a known secret.
  const found = known.get(digest(req.body.token));
  res.json(found === undefined ? { valid: false, code: 'NOT_FOUND' } : { valid: true, code: 'VALID', token });
});
api.post('/tokens', readBody, ...validate, (req, res) => {
  res.json({ ...token, ...req.body, id: randomUUID(), token: secret });
});
api.get('/tokens/:id', ...validate, (req, res) => {
  res.json({ ...token, id: req.params.id });
});
app.use(spec.servers[0].url, api);
app.use((err, _req, res, _next) => {
  const status = err.status ?? 500;
  res.status(status).json({ code: status, message: err.message });
});
app.listen(Number(process.argv[2]), '127.0.0.1');
