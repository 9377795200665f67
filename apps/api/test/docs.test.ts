// The API reference routes: the spec as written, the page's files and headers, and DOCS=off (the page itself: docs.browser.test.ts).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import supertest from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadApiReference } from '../src/http/docs.js';
import { loadSpec, specPath } from '../src/spec.js';
import { createHarness, type Harness } from './harness.js';
import { PROCESS_TEST_TIMEOUT_MS, startServer } from './process.js';

/** What swagger-ui-express's page loads. */
const PAGE_FILES = [
  'swagger-ui.css',
  'swagger-ui-bundle.js',
  'swagger-ui-standalone-preset.js',
  'swagger-ui-init.js',
  'favicon-32x32.png',
  'favicon-16x16.png',
];
/** The directory of the swagger-ui-dist that swagger-ui-express resolves. */
const swaggerUiDist: string = createRequire(createRequire(import.meta.url).resolve('swagger-ui-express'))(
  'swagger-ui-dist/absolute-path',
)();
const ROUTES = ['/docs', '/docs/', '/openapi.json', '/openapi.yaml'];

let harness: Harness;
let off: Harness;
beforeAll(async () => {
  harness = await createHarness({ apiReference: loadApiReference() });
  off = await createHarness();
});

const expectJsonNotFound = (answer: supertest.Response) => {
  expect(answer.status).toBe(404);
  expect(answer.body).toEqual({ code: 404, message: expect.stringContaining('no such route') });
};

describe('the spec, without a token', () => {
  it('GET /openapi.yaml answers the file byte for byte', async () => {
    const answer = await supertest(harness.app).get('/openapi.yaml').responseType('blob');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^application\/yaml/);
    expect(Buffer.compare(answer.body as Buffer, readFileSync(specPath))).toBe(0);
  });

  it('GET /openapi.json answers its parse', async () => {
    const answer = await supertest(harness.app).get('/openapi.json');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(answer.body).toEqual(loadSpec());
  });
});

describe('GET /docs', () => {
  it('sends /docs to /docs/, where the page is, its files relative to it', async () => {
    const redirect = await supertest(harness.app).get('/docs');
    expect(redirect.status).toBe(301);
    expect(new URL(redirect.headers.location as string, 'http://host/docs').pathname).toBe('/docs/');
    const page = await supertest(harness.app).get('/docs/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    const referenced = [...page.text.matchAll(/\b(?:src|href)=["']([^"']*)["']/g)].map((match) => match[1]);
    expect(referenced.sort()).toEqual(PAGE_FILES.map((file) => `./${file}`).sort());
    // No inline script: the init script is one of the files.
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  });

  it("has the API's Content-Security-Policy but for upgrade-insecure-requests: scripts from the server only", async () => {
    const directives = (policy: string) => policy.split(';').map((directive) => directive.trim());
    const page = await supertest(harness.app).get('/docs/');
    const api = await harness.as(harness.adminSecret).get('/tokens');
    const apiPolicy = directives(api.headers['content-security-policy'] as string);
    expect(apiPolicy).toContain('upgrade-insecure-requests');
    expect(directives(page.headers['content-security-policy'] as string)).toEqual(
      apiPolicy.filter((directive) => directive !== 'upgrade-insecure-requests'),
    );
    expect(apiPolicy).toContain("script-src 'self'");
  });

  it.each(PAGE_FILES.filter((file) => file !== 'swagger-ui-init.js'))(
    'serves %s from the installed swagger-ui-dist',
    async (file) => {
      const answer = await supertest(harness.app).get(`/docs/${file}`).responseType('blob');
      expect(answer.status).toBe(200);
      expect(Buffer.compare(answer.body as Buffer, readFileSync(join(swaggerUiDist, file)))).toBe(0);
    },
  );

  it('loads the spec from this server and sends it nowhere else', async () => {
    const init = await supertest(harness.app).get('/docs/swagger-ui-init.js');
    expect(init.headers['content-type']).toMatch(/^application\/javascript/);
    expect(init.text).toContain('"swaggerUrl": "../openapi.json"');
    expect(init.text).toContain('"validatorUrl": null');
  });

  it.each([
    '/docs/index.html', // swagger-ui-dist's demo page, which loads petstore.swagger.io's spec
    '/docs/swagger-initializer.js',
    '/docs/package.json',
    '/docs/swagger-ui.js.map',
    '/docs/nothing.css',
  ])('answers %s with the JSON 404 of any unknown route', async (path) => {
    expectJsonNotFound(await supertest(harness.app).get(path));
  });
});

describe('DOCS=off', () => {
  it.each(ROUTES)('answers %s with the JSON 404 of any unknown route', async (path) => {
    expectJsonNotFound(await supertest(off.app).get(path));
  });

  it('is read by the server process', { timeout: PROCESS_TEST_TIMEOUT_MS }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'api-tokens-docs-off-'));
    const server = await startServer({ DATABASE_URL: `sqlite:${join(dir, 'tokens.db')}`, DOCS: 'off' });
    try {
      for (const path of ROUTES) expect((await fetch(server.baseUrl + path)).status, path).toBe(404);
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
