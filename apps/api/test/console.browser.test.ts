// The web console at /console/ in a real browser: Debian's headless Chromium, driven by playwright-core, against a real server process.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSecret, SECRET_PATTERN } from '@api-tokens/client';
import axe from 'axe-core';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LaunchedChromium, launchChromium, requireChromium } from './chromium.js';
import {
  PROCESS_EVENT_BOUND_MS,
  PROCESS_TEST_TIMEOUT_MS,
  type ServerProcess,
  startServer,
} from './process.js';

// BOOTSTRAP_TOKEN takes only a secret of the current, checksummed format.
const BOOTSTRAP_TOKEN = generateSecret();
/** The console's own page size for tokens (routes/tokens/pages.ts). */
const TOKENS_PAGE_SIZE = 20;
/**
 * Where the screenshots go: docs/console/ (committed, shown in the README) when UPDATE_SCREENSHOTS=1,
 * else a scratch directory, so a test run does not rewrite committed files.
 */
const SCREENSHOTS =
  process.env.UPDATE_SCREENSHOTS === '1'
    ? fileURLToPath(new URL('../../../docs/console/', import.meta.url))
    : undefined;

let dir: string;
let server: ServerProcess;
let chromium: LaunchedChromium | undefined;
let screenshots: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'api-tokens-console-'));
  screenshots = SCREENSHOTS ?? join(dir, 'screenshots');
  mkdirSync(screenshots, { recursive: true });
  server = await startServer({ DATABASE_URL: `sqlite:${join(dir, 'tokens.db')}`, BOOTSTRAP_TOKEN });
  // Without the browser every case fails, each with the line requireChromium throws; none is skipped.
  chromium = await launchChromium();
}, PROCESS_TEST_TIMEOUT_MS);

afterAll(async () => {
  await chromium?.close();
  await server?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** Calls the API as a test would with curl: the secret as bearer token. */
async function api(secret: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${server.baseUrl}/v2${path}`, {
    method,
    headers: {
      authorization: `Bearer ${secret}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

interface Visit {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions, CSP violations among them. */
  errors: string[];
  /** Every URL the page asked for. */
  requests: string[];
}

/** A fresh browser profile (nothing stored) on a page of the console. */
async function open(
  path = '/console/',
  { width = 1280, height = 900, dark = false }: { width?: number; height?: number; dark?: boolean } = {},
): Promise<Visit> {
  const context = await requireChromium(chromium).newContext({
    viewport: { width, height },
    colorScheme: dark ? 'dark' : 'light',
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  const page = await context.newPage();
  page.setDefaultTimeout(PROCESS_EVENT_BOUND_MS);
  const visit: Visit = { context, page, errors: [], requests: [] };
  page.on('request', (request) => visit.requests.push(request.url()));
  page.on('console', (message) => {
    // A refused request (401, 403, 404) is the page working as meant; anything else is an error.
    if (message.type() === 'error' && !/the server responded with a status of 4\d\d/.test(message.text())) {
      visit.errors.push(message.text());
    }
  });
  page.on('pageerror', (err) => visit.errors.push(err.message));
  await page.goto(server.baseUrl + path);
  return visit;
}

/**
 * Evaluates an expression in the page. Written as text, not a function, so this file is compiled
 * without the DOM's types (which would otherwise reach every file of apps/api).
 */
const evaluateIn =
  (page: Page) =>
  <T>(expression: string): Promise<T> =>
    page.evaluate(expression) as Promise<T>;

/** Signs in by keyboard alone: the heading has focus, Tab reaches "Token", Enter submits. */
async function signIn(page: Page, secret: string) {
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
  await expect.poll(() => evaluateIn(page)<string>('document.activeElement?.tagName')).toBe('H1');
  await page.keyboard.press('Tab');
  await expect
    .poll(() => evaluateIn(page)<string>('document.activeElement?.id'))
    .toBe(await page.getByLabel('Token', { exact: true }).getAttribute('id'));
  await page.keyboard.type(secret);
  await page.keyboard.press('Enter');
}

/** Runs axe on the page as it is; fails on a serious or critical violation, naming each. */
async function expectAccessible(page: Page, what: string) {
  // evaluate() runs in the page without a <script> element, so the console's CSP stays as it is.
  await page.evaluate(axe.source);
  const results = await evaluateIn(page)<axe.AxeResults>(
    "axe.run(document, { resultTypes: ['violations'] })",
  );
  const serious = results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map(
      (violation) =>
        `${violation.id}: ${violation.help} (${violation.nodes.map((node) => node.target).join(' | ')})`,
    );
  expect(serious, `axe violations on ${what}`).toEqual([]);
}

async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}

/** What a secret the API issues looks like: the current, checksummed format (the client's own pattern). */
function tokenSecretPattern() {
  return SECRET_PATTERN;
}

describe('serving /console/', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('answers the page with its CSP, no-cache, and the same page for a deep link', async () => {
    for (const path of [
      '/console/',
      '/console/tokens/5f0c6f39-0c55-4a43-9d3f-3d1f3e6a2b7c',
      '/console/audit',
    ]) {
      const response = await fetch(server.baseUrl + path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(response.headers.get('cache-control')).toBe('no-cache');
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      const html = await response.text();
      expect(html).toContain('<div id="root">');
      // No inline script: every <script> has a src.
      expect(html.match(/<script(?![^>]*\ssrc=)[^>]*>/g) ?? []).toEqual([]);
    }
  });

  it('answers hashed assets as immutable, and a missing asset with the JSON 404', async () => {
    const html = await (await fetch(`${server.baseUrl}/console/`)).text();
    const assets = [...html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((match) => match[1]);
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) {
      const response = await fetch(server.baseUrl + asset);
      expect(response.status, asset).toBe(200);
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    }
    const missing = await fetch(`${server.baseUrl}/console/assets/nothing-here.js`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 404 });
  });

  it('redirects /console to /console/', async () => {
    const response = await fetch(`${server.baseUrl}/console`, { redirect: 'manual' });
    expect(response.status).toBe(301);
    expect(response.headers.get('location')).toBe('console/');
  });

  it('answers 404 for /console/ with CONSOLE=off', async () => {
    const off = await startServer({
      DATABASE_URL: `sqlite:${join(dir, 'off.db')}`,
      BOOTSTRAP_TOKEN,
      CONSOLE: 'off',
    });
    try {
      for (const path of ['/console/', '/console/tokens']) {
        const response = await fetch(off.baseUrl + path);
        expect(response.status, path).toBe(404);
        expect(await response.json()).toMatchObject({ code: 404 });
      }
    } finally {
      await off.stop();
    }
  });
});

describe('the console in Chromium', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('shows a refused token the API message, and keeps nothing', async () => {
    const { context, page, errors } = await open();
    try {
      const refused = 'xaat-not-a-real-secret-at-all-0000000000000000';
      const expected = await api(refused, 'GET', '/tokens/self');
      expect(expected.status).toBe(401);
      await expectAccessible(page, 'sign in');
      await screenshot(page, 'sign-in');
      await signIn(page, refused);
      await expect.poll(() => page.getByRole('alert').textContent()).toBe(expected.body.message);
      expect(await evaluateIn(page)<number>('sessionStorage.length')).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('signs in, creates a scoped token whose secret works, regenerates it with a grace period and deletes it', async () => {
    const { context, page, errors, requests } = await open('/console/tokens');
    try {
      const self = await api(BOOTSTRAP_TOKEN, 'GET', '/tokens/self');
      await signIn(page, BOOTSTRAP_TOKEN);
      await expect.poll(() => page.getByTestId('signed-in-as').textContent()).toBe(self.body.name);
      await page.getByRole('heading', { level: 1, name: 'Tokens' }).waitFor();
      // The token lives in sessionStorage only: not localStorage, not a cookie, not a URL.
      expect(await evaluateIn(page)<string[]>('Object.values({ ...sessionStorage })')).toEqual([
        BOOTSTRAP_TOKEN,
      ]);
      expect(await evaluateIn(page)<number>('localStorage.length')).toBe(0);
      expect(await context.cookies()).toEqual([]);
      expect(requests.filter((url) => url.includes(BOOTSTRAP_TOKEN))).toEqual([]);
      await page.getByRole('link', { name: self.body.name }).waitFor();
      await expectAccessible(page, 'Tokens');

      // New token: a name, an expiry preset, one dataset typed by name (the bootstrap token holds `*`).
      await page.getByRole('link', { name: 'New token' }).click();
      await page.getByRole('heading', { level: 1, name: 'New token' }).waitFor();
      await page.getByLabel('Name', { exact: true }).fill('shipper-logs');
      await page.getByLabel('Description', { exact: true }).fill('Ships the logs');
      await page.getByLabel('Expires', { exact: true }).selectOption({ label: 'In 30 days' });
      await page.getByLabel('Add a dataset by name').fill('logs');
      await page.getByLabel('Add a dataset by name').press('Enter');
      await page.getByRole('group', { name: 'logs: ingest' }).getByLabel('create').check();
      await page.getByText('Request body (JSON)').click();
      const preview = JSON.parse((await page.getByTestId('request-preview').textContent()) ?? '');
      expect(preview).toMatchObject({
        name: 'shipper-logs',
        description: 'Ships the logs',
        datasetCapabilities: { logs: { ingest: ['create'] } },
      });
      await expectAccessible(page, 'New token');
      await screenshot(page, 'new-token');
      await page.getByRole('button', { name: 'Create token' }).click();

      await page.getByText('shown once').waitFor();
      const secret = await page.getByRole('textbox', { name: 'Secret', exact: true }).inputValue();
      expect(secret).toMatch(tokenSecretPattern());
      await expectAccessible(page, 'the new secret');

      // Leaving before copying asks; declining stays on the page.
      const dialogs: string[] = [];
      page.once('dialog', (dialog) => {
        dialogs.push(dialog.message());
        void dialog.dismiss();
      });
      await page.getByRole('link', { name: 'Back to the tokens' }).click();
      expect(dialogs).toHaveLength(1);
      await page.getByText('shown once').waitFor();

      await page.getByRole('button', { name: 'Copy' }).click();
      await page.getByText('Copied to the clipboard.').waitFor();
      expect(await evaluateIn(page)<string>('navigator.clipboard.readText()')).toBe(secret);

      // The secret works, with exactly what was picked.
      const created = await api(secret, 'GET', '/tokens/self');
      expect(created.status).toBe(200);
      expect(created.body).toMatchObject({
        name: 'shipper-logs',
        description: 'Ships the logs',
        datasetCapabilities: { logs: { ingest: ['create'] } },
        orgCapabilities: {},
        viewCapabilities: {},
      });
      const expiresIn = Date.parse(created.body.expiresAt) - Date.now();
      expect(expiresIn).toBeGreaterThan(29 * 86_400_000);
      expect(expiresIn).toBeLessThanOrEqual(30 * 86_400_000);

      // Copied: leaving no longer asks.
      await page.getByRole('link', { name: 'Open the token' }).click();
      await page.getByRole('heading', { level: 1, name: 'shipper-logs' }).waitFor();
      const table = page.getByRole('table').filter({ hasText: 'Dataset' });
      await expect.poll(() => table.getByRole('row').nth(1).textContent()).toBe('logsingestcreate');
      await expectAccessible(page, 'token detail');
      await screenshot(page, 'token-detail');

      // Regenerate with a grace period of 1 hour: both secrets work until then.
      await page.getByRole('link', { name: 'Regenerate' }).click();
      await page.getByRole('radio', { name: '1 hour' }).check();
      await expectAccessible(page, 'Regenerate');
      const before = Date.now();
      await page.getByRole('button', { name: 'Regenerate' }).click();
      await page.getByText('shown once').waitFor();
      const replacement = await page.getByRole('textbox', { name: 'Secret', exact: true }).inputValue();
      expect(replacement).toMatch(tokenSecretPattern());
      expect(replacement).not.toBe(secret);
      const old = await api(secret, 'GET', '/tokens/self');
      expect(old.status).toBe(200);
      const graceEnds = Date.parse(old.body.expiresAt);
      expect(graceEnds).toBeGreaterThanOrEqual(before + 3_600_000 - 1000);
      expect(graceEnds).toBeLessThanOrEqual(Date.now() + 3_600_000);
      const renewed = await api(replacement, 'GET', '/tokens/self');
      expect(renewed.status).toBe(200);
      expect(renewed.body.datasetCapabilities).toEqual({ logs: { ingest: ['create'] } });
      await page.getByRole('button', { name: 'Copy' }).click();
      await page.getByText('Copied to the clipboard.').waitFor();

      // Delete the replacement: a wrong name is refused next to the field, the right one deletes.
      await page.getByRole('link', { name: 'Open the new token' }).click();
      await page.getByRole('heading', { level: 1, name: 'shipper-logs' }).waitFor();
      await page.getByRole('link', { name: 'Delete' }).click();
      const confirmation = page.getByLabel('Type shipper-logs to confirm');
      await confirmation.fill('shipper');
      await page.getByRole('button', { name: 'Delete' }).click();
      await page.getByText("Type the token's name, shipper-logs, exactly to confirm.").waitFor();
      expect(await confirmation.getAttribute('aria-invalid')).toBe('true');
      expect((await api(replacement, 'GET', '/tokens/self')).status).toBe(200);
      await expectAccessible(page, 'Delete');
      await confirmation.fill('shipper-logs');
      await page.getByRole('button', { name: 'Delete' }).click();
      await page.getByRole('heading', { level: 1, name: 'Tokens' }).waitFor();
      await expect.poll(async () => (await api(replacement, 'GET', '/tokens/self')).status).toBe(401);
      // Left: the old token, in its grace period.
      await expect
        .poll(() =>
          page.getByRole('row').filter({ hasText: 'shipper-logs' }).locator('.status').allTextContents(),
        )
        .toEqual(['expires within 7 days']);

      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('offers only the actions the signed-in token holds', async () => {
    const limited = await api(BOOTSTRAP_TOKEN, 'POST', '/tokens', {
      name: 'limited-admin',
      orgCapabilities: { apiTokens: ['create', 'read'] },
      datasetCapabilities: { logs: { query: ['read'], ingest: ['create'] } },
    });
    expect(limited.status).toBe(200);
    const { context, page, errors } = await open('/console/tokens/new');
    try {
      await signIn(page, limited.body.token);
      await page.getByRole('heading', { level: 1, name: 'New token' }).waitFor();
      const org = page.getByRole('group', { name: 'Organisation capabilities' });
      await org.getByRole('group', { name: 'Organisation: apiTokens' }).waitFor();
      const offered = await org
        .getByRole('checkbox')
        .evaluateAll((boxes) =>
          boxes.map((box) => `${box.getAttribute('name')}:${box.getAttribute('value')}`),
        );
      expect(offered).toEqual(['Organisation.apiTokens:create', 'Organisation.apiTokens:read']);
      const datasets = page.getByRole('group', { name: 'Dataset capabilities' });
      const datasetOffered = await datasets
        .getByRole('checkbox')
        .evaluateAll((boxes) =>
          boxes.map((box) => `${box.getAttribute('name')}:${box.getAttribute('value')}`),
        );
      expect(datasetOffered).toEqual(['logs.ingest:create', 'logs.query:read']);
      // No `*`: no other dataset can be typed in.
      expect(await page.getByLabel('Add a dataset by name').count()).toBe(0);
      // No auditLog: read, so no audit trail.
      expect(await page.getByRole('link', { name: 'Audit trail' }).count()).toBe(0);
      await page.goto(`${server.baseUrl}/console/audit`);
      await page.getByText('The audit trail is shown only to a token holding auditLog: read.').waitFor();
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('pages through the tokens by Link, the back button returning to the first page', async () => {
    const names: string[] = [];
    for (let index = 0; index < TOKENS_PAGE_SIZE + 1; index++) {
      const name = `paged-${String(index).padStart(2, '0')}`;
      const created = await api(BOOTSTRAP_TOKEN, 'POST', '/tokens', { name });
      expect(created.status).toBe(200);
      names.push(name);
    }
    const all = await api(BOOTSTRAP_TOKEN, 'GET', '/tokens');
    const { context, page } = await open('/console/tokens');
    try {
      await signIn(page, BOOTSTRAP_TOKEN);
      const rows = page.getByRole('table').getByRole('rowheader');
      await expect.poll(() => rows.count()).toBe(TOKENS_PAGE_SIZE);
      const first = await rows.allTextContents();
      expect(first).toEqual(all.body.slice(0, TOKENS_PAGE_SIZE).map((token: { name: string }) => token.name));
      await page.getByRole('link', { name: 'Next page' }).click();
      await expect.poll(() => rows.first().textContent()).toBe(all.body[TOKENS_PAGE_SIZE].name);
      expect(page.url()).toContain('cursor=');
      await page.goBack();
      await expect.poll(() => rows.first().textContent()).toBe(first[0]);

      // Filter by name: only the matching tokens of the page.
      await page.getByLabel('Filter by name').fill('paged-0');
      await expect
        .poll(() => rows.allTextContents())
        .toEqual(first.filter((name) => name.includes('paged-0')));
      expect(names.length).toBe(TOKENS_PAGE_SIZE + 1);
    } finally {
      await context.close();
    }
  });

  it('filters the audit trail by type and by token', async () => {
    const victim = await api(BOOTSTRAP_TOKEN, 'POST', '/tokens', { name: 'audited' });
    expect((await api(BOOTSTRAP_TOKEN, 'DELETE', `/tokens/${victim.body.id}`)).status).toBe(204);
    const { context, page, errors } = await open('/console/tokens');
    try {
      await signIn(page, BOOTSTRAP_TOKEN);
      await page.getByRole('link', { name: 'Audit trail' }).click();
      await page.getByRole('heading', { level: 1, name: 'Audit trail' }).waitFor();
      await page.getByRole('table').waitFor();
      await expectAccessible(page, 'Audit trail');
      await screenshot(page, 'audit-trail');

      await page.getByLabel('Event type').selectOption('token.deleted');
      await page.getByRole('button', { name: 'Filter' }).click();
      const types = page.getByRole('table').locator('tbody tr td:nth-child(2)');
      await expect.poll(() => types.allTextContents()).not.toContain('token.created');
      expect(new Set(await types.allTextContents())).toEqual(new Set(['token.deleted']));
      expect(page.url()).toContain('type=token.deleted');

      await page.getByLabel('Event type').selectOption('');
      await page.getByLabel('Token id').fill(victim.body.id);
      await page.getByRole('button', { name: 'Filter' }).click();
      await expect.poll(() => types.allTextContents()).toEqual(['token.deleted', 'token.created']);

      await page.getByLabel('Token id').fill('not-an-id');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.getByText('Token id: paste a token id').waitFor();
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('verifies a secret against requirements, listing what is missing', async () => {
    const shipper = await api(BOOTSTRAP_TOKEN, 'POST', '/tokens', {
      name: 'verified',
      datasetCapabilities: { logs: { ingest: ['create'] } },
    });
    const { context, page, errors } = await open('/console/verify');
    try {
      await signIn(page, BOOTSTRAP_TOKEN);
      await page.getByRole('heading', { level: 1, name: 'Verify a token' }).waitFor();
      await page.getByLabel('Secret', { exact: true }).fill(shipper.body.token);
      await page
        .getByLabel('Requirements (JSON, optional)')
        .fill('{ "datasetCapabilities": { "logs": { "ingest": ["create"], "query": ["read"] } } }');
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.getByText('INSUFFICIENT_CAPABILITIES').waitFor();
      expect(await page.locator('.missing li').allTextContents()).toEqual([
        'datasetCapabilities.logs.query:read',
      ]);
      await expectAccessible(page, 'Verify a token');

      await page.getByLabel('Requirements (JSON, optional)').fill('');
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.getByText('VALID', { exact: true }).waitFor();
      await screenshot(page, 'verify');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('verifies a token bound to a network from the client address given, explaining a refusal', async () => {
    const bound = await api(BOOTSTRAP_TOKEN, 'POST', '/tokens', {
      name: 'bound',
      datasetCapabilities: { logs: { ingest: ['create'] } },
      allowedCidrs: ['10.0.0.0/8'],
    });
    expect(bound.status).toBe(200);
    const { context, page, errors } = await open('/console/verify');
    try {
      await signIn(page, BOOTSTRAP_TOKEN);
      await page.getByRole('heading', { level: 1, name: 'Verify a token' }).waitFor();
      await page.getByLabel('Secret', { exact: true }).fill(bound.body.token);
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.getByText('ADDRESS_NOT_ALLOWED').waitFor();
      await page.getByText('Address not allowed: the token is bound to networks').waitFor();

      await page.getByLabel('Client address (optional)').fill('10.1.2.3');
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.getByText('VALID', { exact: true }).waitFor();
      await expectAccessible(page, 'Verify a token');

      await page.getByLabel('Client address (optional)').fill('192.0.2.1');
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.getByText('ADDRESS_NOT_ALLOWED').waitFor();
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('sends a token the API stops accepting back to sign-in with its message; sign out forgets it', async () => {
    const doomed = await api(BOOTSTRAP_TOKEN, 'POST', '/tokens', {
      name: 'doomed',
      orgCapabilities: { apiTokens: ['read'] },
    });
    const { context, page } = await open('/console/tokens');
    try {
      await signIn(page, doomed.body.token);
      await page.getByRole('heading', { level: 1, name: 'Tokens' }).waitFor();
      expect((await api(BOOTSTRAP_TOKEN, 'DELETE', `/tokens/${doomed.body.id}`)).status).toBe(204);
      const refused = await api(doomed.body.token, 'GET', '/tokens');
      expect(refused.status).toBe(401);
      // The tab keeps its sessionStorage across a reload: the console asks again with the deleted token.
      await page.reload();
      await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
      await expect.poll(() => page.getByRole('alert').textContent()).toBe(refused.body.message);
      expect(await evaluateIn(page)<number>('sessionStorage.length')).toBe(0);

      await signIn(page, BOOTSTRAP_TOKEN);
      await page.getByRole('heading', { level: 1, name: 'Tokens' }).waitFor();
      expect(await evaluateIn(page)<number>('sessionStorage.length')).toBe(1);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
      expect(await evaluateIn(page)<number>('sessionStorage.length')).toBe(0);
      // Nothing of the session is left in the page either.
      expect(await page.getByText('Signed in as').count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it('reads at 360 px and on a desktop, in light and dark', async () => {
    const { context, page, errors } = await open('/console/tokens');
    try {
      await signIn(page, BOOTSTRAP_TOKEN);
      await page.getByRole('table').waitFor();
      for (const { width, dark, name } of [
        { width: 360, dark: false, name: 'tokens-360-light' },
        { width: 360, dark: true, name: 'tokens-360-dark' },
        { width: 1280, dark: false, name: 'tokens-desktop-light' },
        { width: 1280, dark: true, name: 'tokens-desktop-dark' },
      ]) {
        await page.setViewportSize({ width, height: 800 });
        await page.emulateMedia({ colorScheme: dark ? 'dark' : 'light' });
        // Nothing wider than the window but the tables, which scroll in their own box.
        const overflow = await evaluateIn(page)<number>(
          'document.documentElement.scrollWidth - window.innerWidth',
        );
        expect(overflow, name).toBeLessThanOrEqual(0);
        await expectAccessible(page, name);
        await screenshot(page, name);
      }
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
