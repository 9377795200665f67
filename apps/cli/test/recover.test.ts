// api-tokens admin recover as a process: refused while a server holds the SQLite store, and a working admin once it is stopped.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiToken } from '@api-tokens/client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROCESS_TEST_TIMEOUT_MS, type ServerProcess, startServer } from '../../api/test/process.js';
import { freshHome, runCli } from './run.js';

const LOST = 'xaat-cliRecoverLostAdminSecret0123456789012345672JhyoN';
let dir: string;
let databaseUrl: string;
let server: ServerProcess | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'api-tokens-cli-recover-'));
  databaseUrl = `sqlite:${join(dir, 'tokens.db')}`;
});
afterEach(async () => {
  await server?.stop();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
}, PROCESS_TEST_TIMEOUT_MS);

const serve = async (env: Record<string, string> = {}) => {
  server = await startServer({ DATABASE_URL: databaseUrl, BOOTSTRAP_TOKEN: LOST, ...env });
  return server;
};
const recover = (args: string[] = []) =>
  runCli(['admin', 'recover', '--database', databaseUrl, ...args], { home: freshHome() });

describe('api-tokens admin recover', () => {
  it(
    'on a stopped store, creates an all-capability token whose secret works on the restarted server',
    async () => {
      // A store that was in use, whose admin secret is then lost (deleted here).
      const first = await serve();
      const self = await runCli(['--url', first.baseUrl, 'whoami'], {
        home: freshHome(),
        env: { API_TOKENS_TOKEN: LOST },
      });
      const admin = JSON.parse(self.stdout) as ApiToken;
      await first.stop();

      const result = await recover(['--output', 'table']);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/Recovered an admin token holding every capability: recovered-admin/);
      const secret = /Secret \(shown once, store it now\): (xaat-\S+)/.exec(result.stdout)?.[1] ?? '';
      expect(result.stdout.split(secret).length - 1).toBe(1);

      const restarted = await serve();
      const as = (token: string, args: string[]) =>
        runCli(['--url', restarted.baseUrl, ...args], {
          home: freshHome(),
          env: { API_TOKENS_TOKEN: token },
        });
      const recovered = JSON.parse((await as(secret, ['whoami'])).stdout) as ApiToken;
      expect(recovered).toMatchObject({
        name: 'recovered-admin',
        expiresAt: null,
        orgCapabilities: admin.orgCapabilities,
        datasetCapabilities: admin.datasetCapabilities,
        viewCapabilities: admin.viewCapabilities,
      });
      expect(recovered.description).toMatch(
        /^Recovered at \d{4}-\d\d-\d\dT.*Z with api-tokens admin recover/,
      );
      // It can do what an admin does: here, revoke the lost secret.
      expect((await as(secret, ['tokens', 'delete', admin.id])).code).toBe(0);
      expect((await as(LOST, ['whoami'])).code).toBe(4);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'prints the API-shaped token with its secret under --output json',
    async () => {
      await (await serve()).stop();
      const result = await recover(['--output', 'json']);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({
        name: 'recovered-admin',
        token: expect.stringMatching(/^xaat-/),
      });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  for (const [kind, env] of [
    ['with the auth cache on', {}],
    ['with AUTH_CACHE_SIZE=0', { AUTH_CACHE_SIZE: '0' }],
  ] as const) {
    it(
      `refuses in one line, exit 1, while a server ${kind} holds the database, and changes nothing`,
      async () => {
        const running = await serve(env);
        const result = await recover();
        expect(result.code).toBe(1);
        expect(result.stdout).toBe('');
        expect(result.stderr).toBe(
          'api-tokens: admin recover: database: an api-tokens server is using this database; stop it, run the recovery, then start it again\n',
        );
        const listed = await runCli(['--url', running.baseUrl, 'tokens', 'list'], {
          home: freshHome(),
          env: { API_TOKENS_TOKEN: LOST },
        });
        expect((JSON.parse(listed.stdout) as ApiToken[]).map((token) => token.name)).toEqual([
          'bootstrap-admin',
        ]);
      },
      PROCESS_TEST_TIMEOUT_MS,
    );
  }

  it('refuses a path with no database (exit 1) and a missing --database (exit 2)', async () => {
    const missing = await runCli(['admin', 'recover', '--database', `sqlite:${join(dir, 'typo.db')}`], {
      home: freshHome(),
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^api-tokens: admin recover: database: no SQLite database at /);
    const usage = await runCli(['admin', 'recover'], { home: freshHome() });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--database is required/);
  });
});
