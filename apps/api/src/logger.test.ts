// The logger when its reader has gone: a process must still exit, however its last lines were queued.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const apiRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * A process that logs two lines with this project's logger and exits at once: the first line is
 * being written (asynchronously) when the process exits and the second is still queued, so pino
 * writes it synchronously on exit, into a pipe whose reader has gone (EPIPE). sonic-boom 4 retried
 * that write forever, asleep between tries (fixed by patches/sonic-boom+4.2.1.patch, as sonic-boom 5
 * fixed it): the server then never stopped on SIGTERM once its log reader had gone, now and then.
 */
const SCRIPT = `
  import { createLogger } from './dist/logger.js';
  process.stdin.once('data', () => {
    const logger = createLogger('info');
    logger.info('first');
    logger.info('second');
    process.exit(0);
  });`;

describe('the logger', () => {
  it('lets the process exit when whatever read its log has gone away, with lines still queued', {
    timeout: 60_000,
  }, async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', SCRIPT], {
        cwd: apiRoot,
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      child.stdout.destroy(); // the log reader dies before the first line
      child.stdin.write('go\n');
      const exited = await new Promise<number | null | 'hung'>((resolve) => {
        const bound = setTimeout(() => {
          child.kill('SIGKILL');
          resolve('hung');
        }, 10_000);
        child.once('exit', (code) => {
          clearTimeout(bound);
          resolve(code);
        });
      });
      expect(exited, `attempt ${attempt + 1}`).toBe(0);
    }
  });
});
