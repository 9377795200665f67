// The CLI at a real terminal (a pseudo-terminal from util-linux's script): hidden token input, tables by default.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROCESS_EVENT_BOUND_MS, PROCESS_TEST_TIMEOUT_MS } from '../../api/test/process.js';
import { cliEntry, freshHome, useServer } from './run.js';

const ADMIN = 'xaat-cliTerminalAdminSecret0123456789012345678902ZVVyq';
const server = useServer(ADMIN);

/**
 * Runs `api-tokens args…` on a pseudo-terminal; `answer` is typed once the output shows `prompt`.
 * Resolves with everything the terminal showed (stdout and stderr together, as on a screen).
 */
async function atTerminal(home: string, args: string[], typed?: { prompt: RegExp; answer: string }) {
  const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
  const command = [process.execPath, cliEntry, ...args].map(quote).join(' ');
  const child = spawn('script', ['--quiet', '--return', '--command', command, '/dev/null'], {
    env: { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: join(home, 'config'), TERM: 'dumb' },
    stdio: 'pipe',
  });
  let screen = '';
  let answered = false;
  child.stdout.on('data', (chunk) => {
    screen += chunk;
    if (typed !== undefined && !answered && typed.prompt.test(screen)) {
      answered = true;
      child.stdin.write(`${typed.answer}\r`);
    }
  });
  let deadline: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`timeout: api-tokens ${args.join(' ')} at a terminal did not exit; it showed: ${screen}`),
      );
    }, PROCESS_EVENT_BOUND_MS);
  });
  try {
    const [code] = (await Promise.race([once(child, 'close'), timeout])) as [number | null];
    return { code, screen };
  } finally {
    clearTimeout(deadline);
  }
}

describe('api-tokens at a terminal', () => {
  it(
    'login asks for the token without echoing it, and commands print tables by default',
    async () => {
      const home = freshHome();
      const login = await atTerminal(home, ['--url', server().baseUrl, 'login'], {
        prompt: /press Enter: /,
        answer: ADMIN,
      });
      expect(login.code).toBe(0);
      expect(login.screen).toMatch(/Logged in to .* as bootstrap-admin/);
      expect(login.screen).not.toContain(ADMIN);
      expect(statSync(join(home, 'config', 'api-tokens', 'config.json')).mode & 0o777).toBe(0o600);

      const list = await atTerminal(home, ['tokens', 'list']);
      expect(list.code).toBe(0);
      expect(list.screen).toMatch(/^ID +NAME +EXPIRES +GRANTS\r?\n/);
      expect(list.screen).toMatch(/bootstrap-admin +never +org:\d+ datasets:\* views:\*/);
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
