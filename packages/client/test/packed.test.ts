import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectTypeChecks,
  installInScratch,
  type Packed,
  pack,
  run,
  workspaceVersion,
} from './scratchProject.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
let scratch: string;
let packed: Packed;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'api-tokens-client-consumer-'));
  packed = await pack(packageDir, scratch);
  await installInScratch(scratch, [
    join(scratch, packed.filename),
    await workspaceVersion('ajv'),
    await workspaceVersion('ajv-formats'),
    await workspaceVersion('typescript'),
  ]);
}, 420_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('the packed @api-tokens/client', () => {
  it('ships the license, the compiled code and the sources its source maps name, and nothing else', async () => {
    const paths = packed.files.map((file) => file.path);
    expect(paths).toContain('LICENSE');
    expect(paths).toContain('package.json');
    expect(paths).toContain('README.md');
    expect(paths.filter((path) => !/^(dist|src)\//.test(path)).sort()).toEqual([
      'LICENSE',
      'README.md',
      'package.json',
    ]);
    const installed = join(scratch, 'node_modules', '@api-tokens', 'client');
    for (const map of paths.filter((path) => path.endsWith('.map'))) {
      const { sources } = JSON.parse(await readFile(join(installed, map), 'utf8')) as { sources: string[] };
      for (const source of sources) {
        const resolved = join(map, '..', source);
        expect(paths, `${map} names ${source}`).toContain(resolved);
      }
    }
  });

  it('runs from plain Node ESM: the SDK sends a typed request, and every schema compiles with Ajv2020 on its own', async () => {
    await writeFile(
      join(scratch, 'consumer.mjs'),
      `
import { createServer } from 'node:http';
import { createApiToken } from '@api-tokens/client';
import * as schemas from '@api-tokens/client/schemas';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const compiled = Object.entries(schemas).map(([name, schema]) => {
  // A fresh Ajv per schema: each must compile with nothing else registered.
  const ajv = new Ajv2020();
  addFormats(ajv);
  ajv.compile(schema);
  return name;
});

const ajv = new Ajv2020();
addFormats(ajv);
const validate = ajv.compile(schemas.CreateAPITokenSchema);
const good = validate({ name: 'analyst', expiresAt: '2030-01-01T00:00:00Z', orgCapabilities: { dashboards: ['read'] } });
const bad = validate({ name: 'analyst', orgCapabilities: { dashboards: ['fly'] } });
const badAt = validate.errors?.map((error) => error.instancePath);

let received;
const server = createServer((request, response) => {
  let body = '';
  request.on('data', (chunk) => { body += chunk; });
  request.on('end', () => {
    received = { method: request.method, url: request.url, authorization: request.headers.authorization, body: JSON.parse(body) };
    response.writeHead(403, { 'Content-Type': 'application/json' });
    response.end(JSON.stringify({ code: 403, message: "body.orgCapabilities.dashboards: cannot grant 'read', the caller does not hold it" }));
  });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { data, error, response } = await createApiToken({
  baseUrl: \`http://127.0.0.1:\${server.address().port}/v2\`,
  auth: 'xaat-example',
  body: { name: 'analyst', orgCapabilities: { dashboards: ['read'] } },
});
server.close();
console.log(JSON.stringify({ compiled, good, bad, badAt, status: response.status, data, error, received }));
`,
    );
    const consumer = await run(process.execPath, ['consumer.mjs'], scratch, 60_000);
    expect(consumer.stderr).toBe('');
    expect(consumer.code).toBe(0);
    const result = JSON.parse(consumer.stdout);
    expect(result.compiled).toContain('CreateAPITokenSchema');
    expect(result.compiled).toContain('APITokenSchema');
    expect(result.compiled).toContain('ErrorSchema');
    expect(result.good).toBe(true);
    expect(result.bad).toBe(false);
    expect(result.badAt).toContain('/orgCapabilities/dashboards/0');
    expect(result.status).toBe(403);
    expect(result.data).toBeUndefined();
    expect(result.error).toEqual({
      code: 403,
      message: "body.orgCapabilities.dashboards: cannot grant 'read', the caller does not hold it",
    });
    expect(result.received).toEqual({
      method: 'POST',
      url: '/v2/tokens',
      authorization: 'Bearer xaat-example',
      body: { name: 'analyst', orgCapabilities: { dashboards: ['read'] } },
    });
  }, 120_000);

  it('type-checks under TypeScript nodenext, and its types refuse a body the spec refuses', async () => {
    await expectTypeChecks(
      scratch,
      `
import { type ApiToken, type CreateApiToken, createApiToken, createClient, getApiTokens } from '@api-tokens/client';
import { CreateAPITokenSchema } from '@api-tokens/client/schemas';
import { Ajv2020 } from 'ajv/dist/2020.js';

const client = createClient({ baseUrl: 'http://127.0.0.1:3000/v2', auth: 'xaat-example' });
const body: CreateApiToken = { name: 'analyst', datasetCapabilities: { '*': { query: ['read'] } } };
// @ts-expect-error 'fly' is not an action of dashboards
const refused: CreateApiToken = { name: 'analyst', orgCapabilities: { dashboards: ['fly'] } };

export async function create(): Promise<string> {
  const { data, error } = await createApiToken({ client, body });
  if (error) throw new Error(\`\${error.code}: \${error.message}\`);
  return data.token;
}

export async function names(): Promise<string[]> {
  const { data } = await getApiTokens({ client, query: { limit: 10 }, throwOnError: true });
  return data.map((token: ApiToken) => token.name);
}

const validate = new Ajv2020({ validateFormats: false }).compile(CreateAPITokenSchema);
const dialect: 'https://json-schema.org/draft/2020-12/schema' = CreateAPITokenSchema.$schema;
export { dialect, refused, validate };
`,
    );
  }, 180_000);
});
