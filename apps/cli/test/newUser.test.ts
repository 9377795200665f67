// SLOW (about a minute on an idle machine, more on a busy one): a new user's path as the README writes it. A fresh
// clone of the committed HEAD, `npm ci && npm run build` in it, then the README's CLI lines run through `npx api-tokens`.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSecret } from '@api-tokens/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, startServer } from '../../api/test/process.js';

const workspaceRoot = fileURLToPath(new URL('../../..', import.meta.url));
// BOOTSTRAP_TOKEN takes only a secret of the current, checksummed format.
const ADMIN = generateSecret();

/** Generous: npm ci and a whole build on two busy cores. */
const INSTALL_BOUND_MS = 8 * 60_000;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

// What npm sets for the scripts it runs (npm_config_*, a workspace prefix) must not reach the clone's npm.
function cleanEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const kept = Object.entries(process.env).filter(
    ([name]) =>
      !/^(npm_(config|package|lifecycle)_|API_TOKENS_|TURBO_|INIT_CWD$)/i.test(name) ||
      name === 'npm_config_cache',
  );
  return { ...Object.fromEntries(kept), TURBO_TELEMETRY_DISABLED: '1', ...extra };
}

function run(
  command: string,
  args: string[],
  options: { cwd: string; timeoutMs: number; env?: Record<string, string>; stdin?: string },
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: cleanEnvironment(options.env),
        timeout: options.timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error && 'killed' in error && error.killed) {
          reject(
            new Error(`timed out after ${options.timeoutMs} ms: ${command} ${args.join(' ')}\n${stderr}`),
          );
          return;
        }
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
    child.stdin?.end(options.stdin ?? '');
  });
}

/**
 * The README's CLI block, one command a line: continuations joined, comments and optional parts
 * (`[--limit 20]`) dropped. Each keeps `api-tokens` first, to be run as `npx api-tokens`.
 */
function readmeCliLines(): string[] {
  const readme = readFileSync(join(workspaceRoot, 'README.md'), 'utf8');
  const block = /## api-tokens CLI\n[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  if (block === undefined) throw new Error("README.md: no sh block under '## api-tokens CLI'");
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) =>
      line
        .replace(/\s#.*$/, '')
        .replace(/\s*\[[^\]]*\]/g, '')
        .trim(),
    )
    .filter((line) => line.startsWith('api-tokens '));
}

let scratch: string;
let clone: string;
let server: ServerProcess | undefined;

beforeAll(
  async () => {
    scratch = mkdtempSync(join(tmpdir(), 'api-tokens-new-user-'));
    clone = join(scratch, 'api-tokens');
    // --shared borrows the objects instead of copying them; the checkout is a fresh one all the same.
    const cloned = await run('git', ['clone', '--shared', '--quiet', workspaceRoot, clone], {
      cwd: scratch,
      timeoutMs: 60_000,
    });
    expect(cloned.code, cloned.stderr).toBe(0);
    // As the README says, with two allowances for a machine whose only network is the npm registry:
    // packages come from npm's cache where it has them, and install scripts do not run (they compile
    // better-sqlite3, which the CLI's token commands never load, and apply the validator's patch, which
    // only the server uses). Neither changes which bins npm links.
    const installed = await run(
      'npm',
      ['ci', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'],
      {
        cwd: clone,
        timeoutMs: INSTALL_BOUND_MS,
      },
    );
    expect(installed.code, installed.stderr).toBe(0);
    const built = await run('npm', ['run', 'build'], { cwd: clone, timeoutMs: INSTALL_BOUND_MS });
    expect(built.code, built.stdout + built.stderr).toBe(0);
    server = await startServer({
      DATABASE_URL: `sqlite:${join(scratch, 'tokens.db')}`,
      BOOTSTRAP_TOKEN: ADMIN,
    });
  },
  2 * INSTALL_BOUND_MS + 120_000,
);

afterAll(async () => {
  await server?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
}, 60_000);

describe("a new user's fresh clone, after npm ci && npm run build", () => {
  it(
    "runs every line of the README's CLI block through npx api-tokens",
    async () => {
      const lines = readmeCliLines();
      // The command words of each line, before its arguments.
      const commands = lines.map((line) =>
        line
          .split(' ')
          .filter((word) => /^[a-z][a-z-]*$/.test(word))
          .slice(0, 3)
          .join(' '),
      );
      expect(commands).toEqual([
        'api-tokens login',
        'api-tokens whoami',
        'api-tokens tokens list',
        'api-tokens tokens get',
        'api-tokens tokens policy',
        'api-tokens tokens create',
        'api-tokens tokens create',
        'api-tokens tokens regenerate',
        'api-tokens tokens delete',
        'api-tokens tokens verify',
        'api-tokens tokens leaked',
        'api-tokens admin new-secret',
        'api-tokens logout',
      ]);
      const baseUrl = (server as ServerProcess).baseUrl;
      const home = join(scratch, 'home');
      // The files the lines read, beside them in the clone.
      writeFileSync(join(clone, 'admin-token.txt'), `${ADMIN}\n`);
      writeFileSync(join(clone, 'token.json'), JSON.stringify({ name: 'from-json' }));
      // $ID before any create: a token made for the purpose.
      const made = await run('npx', ['api-tokens', 'tokens', 'create', '--name', 'readme-id'], {
        cwd: clone,
        timeoutMs: 60_000,
        env: { XDG_CONFIG_HOME: home, API_TOKENS_URL: baseUrl, API_TOKENS_TOKEN: ADMIN },
      });
      expect(made.code, made.stderr).toBe(0);
      let id = JSON.parse(made.stdout).id as string;

      for (const line of lines) {
        // `npx api-tokens …`, the README's line as written, through a shell (quotes, `<` redirects).
        const outcome = await run('bash', ['-c', `npx ${line}`], {
          cwd: clone,
          timeoutMs: 60_000,
          env: { XDG_CONFIG_HOME: home, API_TOKENS_URL: baseUrl, ID: id },
        });
        expect(outcome.code, `${line}\n${outcome.stderr}`).toBe(0);
        expect(outcome.stderr).not.toMatch(/could not determine executable/);
        if (line.startsWith('api-tokens tokens create --name shipper-prod')) {
          const created = JSON.parse(outcome.stdout);
          expect(created).toMatchObject({ name: 'shipper-prod', datasetCapabilities: { 'logs-prod': {} } });
          // What `tokens verify … < token.txt` checks: this token may ingest into logs-prod.
          writeFileSync(join(clone, 'token.txt'), `${created.token}\n`);
          // What `tokens leaked … < secrets.txt` reports: the same token, found where it should not be.
          writeFileSync(join(clone, 'secrets.txt'), `${created.token}\n`);
        }
        if (line.startsWith('api-tokens tokens regenerate')) {
          id = JSON.parse(outcome.stdout).id;
          expect(id).toMatch(/^[0-9a-f-]{36}$/);
        }
        if (line.startsWith('api-tokens whoami')) expect(outcome.stdout).toContain('bootstrap-admin');
        if (line.startsWith('api-tokens tokens policy'))
          expect(JSON.parse(outcome.stdout)).toEqual({ maxLifetimeSeconds: null });
        if (line.startsWith('api-tokens tokens verify'))
          expect(JSON.parse(outcome.stdout).code).toBe('VALID');
        if (line.startsWith('api-tokens admin new-secret'))
          expect(outcome.stdout.trim()).toMatch(/^xaat-[0-9A-Za-z]{49}$/);
      }
    },
    10 * 60_000,
  );
});
