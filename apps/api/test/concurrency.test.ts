// Several processes on one SQLite database (AUTH_CACHE_SIZE=0): writers take turns instead of failing, and a new database is migrated once.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrations } from '../src/store/migrations.js';
import { SqliteTokenStore } from '../src/store/sqlite.js';
import { issuedBy } from '../src/tokens/issuance.js';
import { regeneration } from '../src/tokens/regeneration.js';
import { tokenRecord, uniqueDigest } from './records.js';

let dir: string;
const children: ChildProcess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'api-tokens-concurrency-'));
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const driver = createRequire(import.meta.url).resolve('better-sqlite3');

/** Runs `source` (an ES module) in its own Node process; stdout lines arrive one by one. */
function run(source: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
    env: { ...process.env, ...env },
    stdio: 'pipe',
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
    for (let end = stdout.indexOf('\n'); end >= 0; end = stdout.indexOf('\n')) {
      const line = stdout.slice(0, end);
      stdout = stdout.slice(end + 1);
      const next = waiting.shift();
      if (next) next(line);
      else lines.push(line);
    }
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    exited,
    stderr: () => stderr,
    /** The next line the process writes; a process that exits first fails the test, saying so. */
    nextLine: () =>
      new Promise<string>((resolve, reject) => {
        const ready = lines.shift();
        if (ready !== undefined) return resolve(ready);
        waiting.push(resolve);
        void exited.then((code) => reject(new Error(`exited with ${code} first: ${stderr}`)));
      }),
  };
}

const record = tokenRecord;
const digest = uniqueDigest;

/**
 * Another process committing small writes one after another, as a second server would, until the
 * file STOP appears: with a pause after each, so this process's writers get their turn at the lock.
 */
const OTHER_WRITER = `
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
const Database = createRequire(import.meta.url)(process.env.DRIVER);
const db = new Database(process.env.DB, { timeout: 5000 });
const insert = db.prepare(
  "INSERT INTO tokens (id, name, description, created_at, dataset_capabilities, org_capabilities, secret_digest) " +
  "VALUES (?, 'other process', '', 0, '{}', '{}', randomblob(32))",
);
const pause = new Int32Array(new SharedArrayBuffer(4));
console.log('writing');
let commits = 0;
while (!existsSync(process.env.STOP)) {
  insert.run('other-' + commits++);
  Atomics.wait(pause, 0, 0, 1);
}
db.close();
console.log(commits);
`;

describe('two processes writing one database at once', () => {
  it('never fails a write for want of the lock: creates and regenerates wait their turn', async () => {
    const path = join(dir, 'tokens.db');
    const store = new SqliteTokenStore(path, { checkpointEveryMs: 0, purgeEveryMs: 0 });
    try {
      const issuer = record('issuer');
      expect(await store.insert(issuer, digest())).toBe('inserted');
      const stop = join(dir, 'stop');
      const other = run(OTHER_WRITER, { DRIVER: driver, DB: path, STOP: stop });
      expect(await other.nextLine()).toBe('writing');

      // Each operation reads (is the issuer live? is the token live?) before it writes: the window
      // in which another process's commit used to fail it with SQLITE_BUSY_SNAPSHOT.
      const failures: unknown[] = [];
      const ROUNDS = 300;
      for (let round = 0; round < ROUNDS; round++) {
        const target = record('target');
        const outcomes = await Promise.allSettled([
          store.insert(target, digest(), issuedBy({ id: issuer.id, now: new Date(1) })),
          store.insert(record('sibling'), digest(), issuedBy({ id: issuer.id, now: new Date(1) })),
        ]);
        const regenerated = store
          .write(
            regeneration({
              id: target.id,
              now: new Date(1),
              issuer: { id: issuer.id, now: new Date(1) },
              existingTokenExpiresAt: new Date(2),
              replacement: record('replacement'),
              replacementSecretDigest: digest(),
            }),
          )
          .then((outcome) => expect(outcome).toBe('regenerated'));
        for (const outcome of [...outcomes, ...(await Promise.allSettled([regenerated]))]) {
          if (outcome.status === 'rejected') failures.push(outcome.reason);
        }
        // A server between requests: the other process gets the lock too.
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      writeFileSync(stop, '');
      const otherCommits = Number(await other.nextLine());
      expect(await other.exited, other.stderr()).toBe(0);
      expect(failures).toEqual([]);
      expect(otherCommits).toBeGreaterThan(0); // the other process committed all along
      // The issuer and, per round, target, sibling and replacement; and the other process's rows.
      expect(await store.count()).toBe(1 + 3 * ROUNDS + otherCommits);
    } finally {
      await store.close();
    }
  });
});

/**
 * Opens the store and bootstraps it the way a starting server does, each step when the test says
 * go (a line on stdin), and reports what it did.
 */
const STARTING_SERVER = `
import { createInterface } from 'node:readline';
const { SqliteTokenStore } = await import(process.env.STORE);
const { bootstrapOnce } = await import(process.env.BOOTSTRAP);
const go = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
console.log('ready');
await go.next();
const store = new SqliteTokenStore(process.env.DB, { checkpointEveryMs: 0, purgeEveryMs: 0 });
console.log('opened');
await go.next();
const token = {
  id: process.env.NAME, name: process.env.NAME, description: '', expiresAt: null, createdAt: new Date(0),
  datasetCapabilities: {}, orgCapabilities: {}, viewCapabilities: {}, allowedCidrs: [], notBefore: null,
};
const bootstrapped = await store.writeOnce(
  bootstrapOnce({ token, secretDigest: Buffer.alloc(32, process.env.NAME), now: new Date(0) }),
);
console.log(JSON.stringify({ migrationsApplied: store.migrationsApplied, bootstrapped }));
await store.close();
`;

describe('two servers starting together on a new database', () => {
  // The built store, as the server processes run it (build first: see the working rules).
  const built = (path: string) =>
    pathToFileURL(fileURLToPath(new URL(`../dist/${path}`, import.meta.url))).href;
  const builtStore = built('store/sqlite.js');
  const builtBootstrap = built('tokens/bootstrap.js');

  it('migrate it once and bootstrap it once, neither failing', async () => {
    for (let round = 0; round < 5; round++) {
      const path = join(dir, `round-${round}.db`);
      const servers = ['a', 'b'].map((name) =>
        run(STARTING_SERVER, { STORE: builtStore, BOOTSTRAP: builtBootstrap, DB: path, NAME: name }),
      );
      for (const server of servers) expect(await server.nextLine()).toBe('ready');
      // Both open at once, and migrate; then both bootstrap at once.
      for (const server of servers) server.child.stdin?.write('go\n');
      for (const server of servers) expect(await server.nextLine()).toBe('opened');
      for (const server of servers) server.child.stdin?.end('go\n');
      const reports = await Promise.all(
        servers.map(async (server) => {
          const report = await server.nextLine();
          expect(await server.exited, server.stderr()).toBe(0);
          return JSON.parse(report) as { migrationsApplied: number; bootstrapped: boolean };
        }),
      );
      expect(reports.map((report) => report.migrationsApplied).sort()).toEqual([0, migrations.length]);
      expect(reports.filter((report) => report.bootstrapped)).toHaveLength(1);
      const db = new Database(path, { readonly: true });
      expect(db.pragma('user_version', { simple: true })).toBe(migrations.length);
      expect((db.prepare('SELECT count(*) AS n FROM tokens').get() as { n: number }).n).toBe(1);
      db.close();
    }
  });
});
