// `npm start` as a process manager runs it: a SIGTERM to npm must stop the server, not orphan it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROCESS_EVENT_BOUND_MS, PROCESS_TEST_TIMEOUT_MS } from './process.js';

const root = join(import.meta.dirname, '..', '..', '..');
const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Rejects as a timeout if `event` does not come within the bound. */
function within<T>(event: Promise<T>, what: string): Promise<T> {
  let deadline: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    deadline = setTimeout(
      () => reject(new Error(`timeout: ${what} within ${PROCESS_EVENT_BOUND_MS / 1000} s`)),
      PROCESS_EVENT_BOUND_MS,
    );
  });
  return Promise.race([event, timeout]).finally(() => clearTimeout(deadline));
}

let dir: string;
const leftovers: number[] = [];
afterEach(() => {
  for (const pid of leftovers.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A scratch package whose `start` script is the repository's, verbatim, run by npm as `npm start`
 * runs it; only the build step is a no-op (a `turbo` that does nothing, first on npm's PATH), so the
 * test starts the server already built instead of rebuilding it under the other tests' feet.
 */
function scratchPackage(): string {
  dir = mkdtempSync(join(tmpdir(), 'api-tokens-npm-start-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'npm-start-check', scripts }));
  mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
  writeFileSync(join(dir, 'node_modules', '.bin', 'turbo'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  mkdirSync(join(dir, 'apps'));
  symlinkSync(join(root, 'apps', 'api'), join(dir, 'apps', 'api'));
  return dir;
}

describe('npm start', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('stops the server (drained, exit 0) when npm gets SIGTERM, leaving no server process behind', async () => {
    const cwd = scratchPackage();
    const npm = spawn('npm', ['start'], {
      cwd,
      env: {
        ...process.env,
        PORT: '0',
        METRICS_PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: `sqlite:${join(cwd, 'tokens.db')}`,
      },
      stdio: 'pipe',
    });
    let stdout = '';
    const listening = new Promise<{ pid: number; port: number }>((resolve, reject) => {
      npm.stdout.on('data', (chunk) => {
        stdout += chunk;
        const match = /"pid":(\d+),.*"port":(\d+),"msg":"listening/.exec(stdout);
        if (match !== null) resolve({ pid: Number(match[1]), port: Number(match[2]) });
      });
      npm.once('exit', (code) => reject(new Error(`npm start exited (${code}) before the server listened`)));
    });
    const { pid, port } = await within(listening, 'npm start did not log listening');
    leftovers.push(pid);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);

    const exited = once(npm, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    npm.kill('SIGTERM');
    const [code] = await within(exited, 'npm did not exit after SIGTERM');
    expect(code).toBe(0);
    expect(stdout).toMatch(/"msg":"stopped"/);
    expect(alive(pid), `the server (pid ${pid}) still runs after npm exited`).toBe(false);
  });
});
