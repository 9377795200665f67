// A minimal Express app for bench/validator.mjs: the two operations it measures answering the echo's
// shapes, behind express-openapi-validator configured as the server configures it, or behind nothing.
// Modes (after the port): `none`, `eov` (the server's validateAgainstSpec, from its build), and
// `eov-unpatched` (the same, with express-openapi-validator loaded from the directory given third,
// a copy with this repository's patch undone).
import { randomUUID } from 'node:crypto';
import { register } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import express from 'express';
import { loadSpec } from '../apps/api/dist/spec.js';
import { secret, token } from './shapes.mjs';

const [port, mode, unpatched] = process.argv.slice(2);
if (mode === 'eov-unpatched') {
  const entry = pathToFileURL(join(unpatched, 'dist', 'index.js')).href;
  const hooks = `export async function resolve(specifier, context, next) {
    return next(specifier === 'express-openapi-validator' ? ${JSON.stringify(entry)} : specifier, context);
  }`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
}

const spec = loadSpec();
const validate =
  mode === 'none' ? [] : (await import('../apps/api/dist/http/specValidation.js')).validateAgainstSpec(spec);

const app = express();
app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});
// As the server mounts them: under the spec's base path, the body read before the validator.
const api = express.Router();
api.post(
  '/tokens',
  express.json({ limit: spec.info['x-max-request-body-bytes'] }),
  ...validate,
  (req, res) => {
    res.json({ ...token, ...req.body, id: randomUUID(), token: secret });
  },
);
api.get('/tokens/:id', ...validate, (req, res) => {
  res.json({ ...token, id: req.params.id });
});
app.use(spec.servers[0].url, api);
app.use((err, _req, res, _next) => {
  res.status(err.status ?? 500).json({ code: err.status ?? 500, message: err.message });
});
app.listen(Number(port), '127.0.0.1');
