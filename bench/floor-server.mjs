// The floor npm run bench holds the API to: the bare echo plus the work no token service can drop,
// each done the cheapest sound way: helmet, one pino JSON line per request through pino's
// asynchronous destination (as a service tuned for throughput logs), and the bearer secret's
// SHA-256 digest looked up in memory (401 when unknown). No store, no validation, no capabilities.
import { createHash, randomUUID } from 'node:crypto';
import express from 'express';
import helmet from 'helmet';
import { pino } from 'pino';
import { loadSpec } from '../apps/api/dist/spec.js';
import { ADMIN } from './lib.mjs';
import { secret, token } from './shapes.mjs';

const digest = (text) => createHash('sha256').update(text).digest('base64url');
// The admin creates; every created token answers with the fixed secret, so a reader made here authenticates too.
const callers = new Map([
  [digest(ADMIN), { id: randomUUID() }],
  [digest(secret), { id: token.id }],
]);

const logger = pino({ level: 'info' }, pino.destination({ sync: false }));
const spec = loadSpec();
const app = express();
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
  const caller = header.startsWith('Bearer ') ? callers.get(digest(header.slice(7))) : undefined;
  if (caller === undefined) {
    res.status(401).json({ code: 401, message: 'authorization: send a valid token as "Bearer <token>"' });
    return;
  }
  res.locals.caller = caller;
  next();
});

app.use(express.json({ limit: spec.info['x-max-request-body-bytes'] }));
app.post('/v2/tokens', (req, res) => {
  res.json({ ...token, ...req.body, id: randomUUID(), token: secret });
});
app.get('/v2/tokens/:id', (req, res) => {
  res.json({ ...token, id: req.params.id });
});
app.listen(Number(process.argv[2]), '127.0.0.1');
