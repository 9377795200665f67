// Store faults at run time: a full disk or a locked database answer 503, and the service recovers when the cause clears.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectAnswer } from './contract.js';
import { createHarness, type Harness } from './harness.js';

let dir: string;
let harness: Harness | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'api-tokens-faults-'));
});
afterEach(async () => {
  await harness?.store.close();
  harness = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const create = (status: number, message?: string | RegExp) =>
  expectAnswer(
    (harness as Harness).createToken((harness as Harness).adminSecret, { name: 'during a fault' }),
    'post',
    '/tokens',
    status,
    message,
  );

async function expectUnavailable(reason: RegExp) {
  const answer = await create(503, reason);
  expect(answer.headers['retry-after']).toMatch(/^\d+$/);
  expect(answer.body.message).not.toMatch(/SQLITE|sqlite|\/tmp/); // no internals
}

describe('the store under faults', () => {
  it('answers 503 while the database is locked by another writer, and recovers when it is released', async () => {
    const path = join(dir, 'tokens.db');
    harness = await createHarness({ storePath: path, busyTimeoutMs: 50 });
    const before = await harness.store.count();
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    try {
      await expectUnavailable(/locked/);
      // Reads still work: WAL readers are not blocked by a writer.
      await expectAnswer(harness.as(harness.adminSecret).get('/tokens'), 'get', '/tokens', 200);
    } finally {
      other.exec('COMMIT');
      other.close();
    }
    await create(200);
    expect(await harness.store.count()).toBe(before + 1);
  });

  it('answers 503 while the disk is full, and recovers when space is freed', async () => {
    const mountPoint = join(dir, 'small-disk');
    mkdirSync(mountPoint);
    // A real, tiny file system: as root (as here and in CI) a tmpfs of 2 MiB.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint]);
    try {
      harness = await createHarness({ storePath: join(mountPoint, 'tokens.db') });
      await create(200);
      const filler = join(mountPoint, 'filler');
      const fd = openSync(filler, 'w');
      try {
        const chunk = Buffer.alloc(64 * 1024);
        for (;;) writeSync(fd, chunk);
      } catch (err) {
        expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
      } finally {
        closeSync(fd);
      }
      const before = await harness.store.count();
      // Several writes: the first may still fit in pages SQLite already has.
      let unavailable = 0;
      for (let i = 0; i < 50 && unavailable === 0; i++) {
        const answer = await harness.createToken(harness.adminSecret, {
          name: `filling ${i}`,
          description: 'x'.repeat(1000),
        });
        expect([200, 503]).toContain(answer.status);
        if (answer.status === 503) {
          unavailable++;
          expect(answer.body).toEqual({ code: 503, message: expect.stringMatching(/disk full|I\/O/) });
        }
      }
      expect(unavailable).toBe(1);
      const stored = await harness.store.count();
      expect(stored).toBeGreaterThanOrEqual(before);
      rmSync(filler);
      await create(200);
      expect(await harness.store.count()).toBe(stored + 1);
      await harness.store.close();
    } finally {
      execFileSync('umount', ['-l', mountPoint]);
    }
  });
});
