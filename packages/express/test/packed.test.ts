import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSecret } from '@api-tokens/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectTypeChecks,
  installInScratch,
  type Packed,
  pack,
  run,
  workspaceVersion,
} from '../../client/test/scratchProject.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const clientDir = fileURLToPath(new URL('../../client', import.meta.url));
let scratch: string;
let packed: Packed;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'api-tokens-express-consumer-'));
  packed = await pack(packageDir, scratch);
  const client = await pack(clientDir, scratch);
  await installInScratch(scratch, [
    join(scratch, client.filename),
    join(scratch, packed.filename),
    await workspaceVersion('express'),
    await workspaceVersion('@types/express'),
    await workspaceVersion('typescript'),
  ]);
}, 420_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('the packed @api-tokens/express', () => {
  it('ships the license, the README, the compiled code and its sources, and no tests', () => {
    const paths = packed.files.map((file) => file.path);
    expect(paths.filter((path) => !/^(dist|src)\//.test(path)).sort()).toEqual([
      'LICENSE',
      'README.md',
      'package.json',
    ]);
    expect(paths).toContain('dist/index.js');
    expect(paths).toContain('dist/index.d.ts');
    expect(paths.filter((path) => path.includes('.test.'))).toEqual([]);
  });

  it("runs the README's example from plain Node ESM: a token the service verifies gets in, others do not", async () => {
    const readme = await readFile(join(packageDir, 'README.md'), 'utf8');
    const example = /## Protect a route\n\n```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    // The example as written, pointed at a stand-in token service and listening on a free port.
    const app = (example as string)
      .replace("'http://tokens.internal:3000/v2'", 'process.env.TOKENS_URL')
      .replace('app.listen(8080);', 'export const server = app.listen(0, "127.0.0.1");');
    expect(app).toContain('process.env.TOKENS_URL');
    await writeFile(join(scratch, 'app.mjs'), app);
    // Secrets of the service's format: the guard refuses any other bearer without asking the service.
    const good = generateSecret();
    const unknown = generateSecret();
    await writeFile(
      join(scratch, 'consumer.mjs'),
      `
import { createServer } from 'node:http';
import { once } from 'node:events';

const seen = [];
const tokens = createServer((request, response) => {
  let body = '';
  request.on('data', (chunk) => { body += chunk; });
  request.on('end', () => {
    const { token, require } = JSON.parse(body);
    seen.push({ url: request.url, authorization: request.headers.authorization, require });
    const verdict = token === '${good}'
      ? { valid: true, code: 'VALID', token: { id: 't1', name: 'shipper', description: '', expiresAt: null,
          datasetCapabilities: {}, orgCapabilities: {}, viewCapabilities: {}, samlAuthenticated: false,
          createdAt: '2026-11-29T09:00:00.000Z', apiLastUsed: null } }
      : { valid: false, code: 'NOT_FOUND' };
    response.writeHead(200, { 'Content-Type': 'application/json' });
    response.end(JSON.stringify(verdict));
  });
});
tokens.listen(0, '127.0.0.1');
await once(tokens, 'listening');
process.env.TOKENS_URL = \`http://127.0.0.1:\${tokens.address().port}/v2\`;
process.env.TOKENS_SERVICE_TOKEN = 'xaat-service';
const { server } = await import('./app.mjs');
await once(server, 'listening');
const ingest = (token) => fetch(\`http://127.0.0.1:\${server.address().port}/ingest/logs\`, {
  method: 'POST', headers: token ? { Authorization: \`Bearer \${token}\` } : {},
}).then(async (response) => ({ status: response.status, body: await response.json() }));
const results = { good: await ingest('${good}'), bad: await ingest('${unknown}'), none: await ingest() };
server.close();
tokens.close();
console.log(JSON.stringify({ results, seen }));
`,
    );
    const consumer = await run(process.execPath, ['consumer.mjs'], scratch, 60_000);
    expect(consumer.stderr).toBe('');
    expect(consumer.code).toBe(0);
    const { results, seen } = JSON.parse(consumer.stdout);
    expect(results.good).toEqual({ status: 200, body: { acceptedFor: 'shipper' } });
    expect(results.bad).toEqual({
      status: 401,
      body: { code: 401, message: 'the bearer token is unknown or revoked' },
    });
    expect(results.none.status).toBe(401);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toEqual({
      url: '/v2/tokens/verify',
      authorization: 'Bearer xaat-service',
      require: { datasetCapabilities: { logs: { ingest: ['create'] } } },
    });
  }, 120_000);

  it('type-checks under TypeScript nodenext: req.apiToken is typed, and require refuses what the spec refuses', async () => {
    await expectTypeChecks(
      scratch,
      `
import express from 'express';
import { type ApiToken, type RequiredCapabilities, requireToken } from '@api-tokens/express';

const app = express();
app.post(
  '/ingest/:dataset',
  requireToken({
    baseUrl: 'http://tokens.internal:3000/v2',
    serviceToken: process.env.TOKENS_SERVICE_TOKEN,
    require: (req) => ({ datasetCapabilities: { [req.params.dataset as string]: { ingest: ['create'] } } }),
    timeoutMs: 2000,
    cacheTtlMs: 10_000,
  }),
  (req, res) => {
    const token: ApiToken | undefined = req.apiToken;
    res.json({ name: token?.name });
  },
);
app.get('/reports', requireToken({
  baseUrl: 'http://tokens.internal:3000/v2',
  serviceToken: 'xaat-service',
  require: async () => ({ orgCapabilities: { dashboards: ['read'] } }),
}));
// @ts-expect-error 'fly' is not an action of dashboards
const refused: RequiredCapabilities = { orgCapabilities: { dashboards: ['fly'] } };
export { app, refused };
`,
    );
  }, 180_000);
});
