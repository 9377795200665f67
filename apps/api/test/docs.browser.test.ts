// The API reference page in a real browser: Debian's headless Chromium, driven by playwright-core, against a real server process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSpec, METHODS } from '../src/spec.js';
import { type LaunchedChromium, launchChromium, requireChromium } from './chromium.js';
import {
  PROCESS_EVENT_BOUND_MS,
  PROCESS_TEST_TIMEOUT_MS,
  type ServerProcess,
  startServer,
} from './process.js';

/**
 * A name Chromium resolves to 127.0.0.1 (--host-resolver-rules) but, unlike 127.0.0.1 and localhost,
 * does not trust as secure: it stands for a server reached over plain HTTP on a LAN, where a page
 * with upgrade-insecure-requests would ask for every resource over HTTPS.
 */
const INSECURE_NAME = 'api-tokens.test';
const BOOTSTRAP_TOKEN = 'xaat-docsBrowserBootstrapSecret012345678901234560HVh84';

const spec = loadSpec();
/** Every operation of the spec, as Swagger UI shows it: method, path, operationId. */
const operations = Object.entries(spec.paths).flatMap(([path, item]) =>
  METHODS.flatMap((method) => {
    const operation = item[method];
    return operation === undefined ? [] : [{ method: method.toUpperCase(), path, id: operation.operationId }];
  }),
);

let dir: string;
let server: ServerProcess;
let chromium: LaunchedChromium | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'api-tokens-docs-'));
  server = await startServer({ DATABASE_URL: `sqlite:${join(dir, 'tokens.db')}`, BOOTSTRAP_TOKEN });
  // Without the browser every case fails, each with the line requireChromium throws; none is skipped.
  chromium = await launchChromium([`--host-resolver-rules=MAP ${INSECURE_NAME} 127.0.0.1`]);
}, PROCESS_TEST_TIMEOUT_MS);

afterAll(async () => {
  await chromium?.close();
  await server?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

interface Visit {
  page: Page;
  /** Every URL the page asked for, whatever the answer. */
  requests: string[];
  /** Console errors and uncaught exceptions, CSP violations among them. */
  errors: string[];
}

/** Opens /docs in a fresh context, recording every request and every error, once the operations are drawn. */
async function openReference(origin = server.baseUrl): Promise<Visit> {
  const context = await requireChromium(chromium).newContext();
  const page = await context.newPage();
  const visit: Visit = { page, requests: [], errors: [] };
  page.on('request', (request) => visit.requests.push(request.url()));
  page.on('console', (message) => {
    if (message.type() === 'error') visit.errors.push(message.text());
  });
  page.on('pageerror', (err) => visit.errors.push(err.message));
  page.setDefaultTimeout(PROCESS_EVENT_BOUND_MS);
  await page.goto(`${origin}/docs`);
  await page.locator('.opblock').first().waitFor();
  return visit;
}

/** Swagger UI's block for an operation: its id is operations-<tag>-<operationId>. */
const operationBlock = (page: Page, operationId: string) => page.locator(`.opblock[id$="-${operationId}"]`);

describe('GET /docs in Chromium', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('renders every operation of the spec, asks nothing of any host but the server, logs no error', async () => {
    const { page, requests, errors } = await openReference();
    try {
      for (const { method, path, id } of operations) {
        const block = operationBlock(page, id);
        await expect(block.count(), `operation ${id}`).resolves.toBe(1);
        expect(await block.locator('.opblock-summary-method').textContent()).toBe(method);
        expect(await block.locator('.opblock-summary-path').getAttribute('data-path')).toBe(path);
      }
      expect(await page.locator('.opblock').count()).toBe(operations.length);
      expect(requests).toContain(`${server.baseUrl}/openapi.json`);
      const elsewhere = requests.filter((url) => new URL(url).origin !== server.baseUrl);
      expect(elsewhere, 'requests to other hosts than the server').toEqual([]);
      expect(requests.every((url) => new URL(url).hostname === '127.0.0.1')).toBe(true);
      expect(errors, 'console errors').toEqual([]);
    } finally {
      await page.context().close();
    }
  });

  it.each([
    ['127.0.0.1', () => server.baseUrl, []],
    // Over plain HTTP Chromium ignores helmet's Cross-Origin-Opener-Policy, and says so as an error:
    // about the transport, not the page, so only that notice is expected there.
    [
      'a name other than loopback, over plain HTTP',
      () => server.baseUrl.replace('127.0.0.1', INSECURE_NAME),
      [/^The Cross-Origin-Opener-Policy header has been ignored, because the URL's origin was untrustworthy/],
    ],
  ] as const)(
    'creates a token through "Authorize", "Try it out" and "Execute" with the admin token, at %s',
    async (_, originOf, expectedNotices: readonly RegExp[]) => {
      const origin = originOf();
      const { page, errors } = await openReference(origin);
      try {
        await page.locator('button.authorize').first().click();
        const dialog = page.locator('.dialog-ux');
        await dialog.locator('input').first().fill(BOOTSTRAP_TOKEN);
        await dialog.locator('button.authorize').click();
        await dialog.locator('button.btn-done').click();

        const block = operationBlock(page, 'createAPIToken');
        await block.locator('.opblock-summary').click();
        await block.locator('button.try-out__btn').click();
        const name = 'made-in-the-reference-page';
        await block.locator('textarea.body-param__text').fill(JSON.stringify({ name }));
        const answered = page.waitForResponse(
          (response) => response.url() === `${origin}/v2/tokens` && response.request().method() === 'POST',
        );
        await block.locator('button.execute').click();
        const response = await answered;

        expect(await response.request().headerValue('authorization')).toBe(`Bearer ${BOOTSTRAP_TOKEN}`);
        expect(response.status()).toBe(200);
        expect(await response.json()).toMatchObject({ name, token: expect.stringMatching(/^xaat-/) });
        // The page shows the answer's status.
        const shownStatus = block.locator('.live-responses-table tr.response .response-col_status').first();
        await shownStatus.waitFor();
        expect(await shownStatus.textContent()).toMatch(/^\s*200/);
        const unexpected = errors.filter((error) => !expectedNotices.some((notice) => notice.test(error)));
        expect(unexpected, 'console errors').toEqual([]);
      } finally {
        await page.context().close();
      }
    },
  );
});
