// Runs the built CLI (dist/index.js) as a real process, with its own config directory and a clean environment.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import {
  PROCESS_EVENT_BOUND_MS,
  PROCESS_TEST_TIMEOUT_MS,
  type ServerProcess,
  startServer,
} from '../../api/test/process.js';

export const cliEntry = fileURLToPath(new URL('../dist/index.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Starts a real api-tokens server on a fresh SQLite file, with `admin` as its bootstrap secret, before
 * the file's tests (with `env` besides), and stops it after them; the returned function gives the running server.
 */
export function useServer(admin: string, env: Record<string, string> = {}): () => ServerProcess {
  let dir: string;
  let server: ServerProcess | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'api-tokens-cli-server-'));
    server = await startServer({
      DATABASE_URL: `sqlite:${join(dir, 'tokens.db')}`,
      BOOTSTRAP_TOKEN: admin,
      ...env,
    });
  }, PROCESS_TEST_TIMEOUT_MS);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, PROCESS_TEST_TIMEOUT_MS);
  return () => {
    if (server === undefined) throw new Error('useServer: the server has not started');
    return server;
  };
}

/** The homes freshHome made in the current test file, removed when it ends. */
const homes: string[] = [];
afterAll(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

/** A fresh XDG_CONFIG_HOME (and HOME) for one test: no login leaks from one case into another. */
export function freshHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'api-tokens-cli-'));
  homes.push(home);
  return home;
}

/**
 * Runs `api-tokens args…` with `stdin` (then end of input) and resolves once it exits. The
 * environment holds only PATH, the test's home and `env`, so no API_TOKENS_* of the machine's
 * leaks in. Past the bound the process is killed and the run fails as a timeout.
 */
export async function runCli(
  args: string[],
  { home, env = {}, stdin = '' }: { home: string; env?: Record<string, string>; stdin?: string },
): Promise<CliResult> {
  const child = spawn(process.execPath, [cliEntry, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: join(home, 'config'), ...env },
    stdio: 'pipe',
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  child.stdin.end(stdin);
  let deadline: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `timeout: api-tokens ${args.join(' ')} did not exit within ${PROCESS_EVENT_BOUND_MS / 1000} s`,
        ),
      );
    }, PROCESS_EVENT_BOUND_MS);
  });
  try {
    const [code] = (await Promise.race([once(child, 'close'), timeout])) as [number | null];
    return { code, stdout, stderr };
  } finally {
    clearTimeout(deadline);
  }
}
