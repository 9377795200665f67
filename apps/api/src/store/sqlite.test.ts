// The SQLite store's own: its file, migrations, checkpoints and faults (the TokenStore contract is in sqlite.contract.test.ts).
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { catalog, manualClock } from '../../test/harness.js';
import { tokenRecord } from '../../test/records.js';
import { TokenService } from '../tokens/service.js';
import { migrations } from './migrations.js';
import { guarded, SqliteTokenStore } from './sqlite.js';
import { StoreUnavailableError } from './store.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'api-tokens-store-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const serviceOver = (store: SqliteTokenStore) => new TokenService({ store, catalog, clock: manualClock() });

describe('SqliteTokenStore', () => {
  it('creates the file and its directory on first open', async () => {
    const path = join(dir, 'nested', 'tokens.db');
    await new SqliteTokenStore(path).close();
    expect(statSync(path).isFile()).toBe(true);
  });

  it('offers no revocation feed when the file is shared, since other processes commit unheard; a sole claim does', async () => {
    const heard = (claim: 'sole' | 'shared') => {
      const store = new SqliteTokenStore(join(dir, `${claim}.db`), { claim, checkpointEveryMs: 0 });
      let listening = false;
      const stop = store.listenForRevocations({
        revoked: () => {},
        lost: () => {},
        listening: () => (listening = true),
      });
      stop();
      return { store, listening };
    };
    const shared = heard('shared');
    const sole = heard('sole');
    // A local listener is told at once, synchronously, or never.
    expect(shared.listening).toBe(false);
    expect(sole.listening).toBe(true);
    // So a service over the shared file never reads a feed: GET /tokens/revocations answers 503.
    expect(serviceOver(shared.store).revocationFeed.isListening).toBe(false);
    expect(serviceOver(sole.store).revocationFeed.isListening).toBe(true);
    await shared.store.close();
    await sole.store.close();
  });

  it('commits durably: its own connection runs the write-ahead log with synchronous=FULL', async () => {
    // Both are settings of the connection (synchronous is not stored in the file), so they are read
    // on the one the store opened: a SIGKILL test cannot tell FULL from OFF, only power loss could.
    // A spy that calls through: it only notes which connection each pragma ran on.
    const pragma = vi.spyOn(Database.prototype, 'pragma');
    const store = new SqliteTokenStore(join(dir, 'tokens.db'), { checkpointEveryMs: 0 });
    const connections = [...new Set(pragma.mock.contexts)] as Database.Database[];
    pragma.mockRestore();
    expect(connections).toHaveLength(1);
    const [connection] = connections as [Database.Database];
    expect(connection.pragma('synchronous', { simple: true })).toBe(2); // FULL
    expect(connection.pragma('journal_mode', { simple: true })).toBe('wal');
    await store.close();
  });

  it('migrates a new database to the latest schema version, and a second open changes nothing', async () => {
    const path = join(dir, 'tokens.db');
    await new SqliteTokenStore(path).close();
    await new SqliteTokenStore(path).close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(migrations.length);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('refuses a database written by a newer version of the server', () => {
    const path = join(dir, 'tokens.db');
    const db = new Database(path);
    db.pragma(`user_version = ${migrations.length + 1}`);
    db.close();
    expect(() => new SqliteTokenStore(path)).toThrow(/newer than this server/);
  });

  it('stores no secret: only its digest is in the database files', async () => {
    const path = join(dir, 'tokens.db');
    const store = new SqliteTokenStore(path);
    const tokens = serviceOver(store);
    const admin = (await tokens.bootstrap())?.generatedSecret as string;
    const caller = await tokens.authenticate(admin);
    const secrets = [admin];
    for (let i = 0; i < 5; i++) {
      secrets.push(
        (await tokens.createToken(caller as NonNullable<typeof caller>, { name: `t${i}`, expiresAt: null }))
          .secret,
      );
    }
    // Read the files while the store is open too, so the WAL still holds the recent writes.
    const contents = () =>
      readdirSync(dir)
        .map((file) => readFileSync(join(dir, file)).toString('latin1'))
        .join('\n');
    for (const secret of secrets) {
      expect(contents()).not.toContain(secret);
      expect(contents()).not.toContain(secret.slice(5)); // nor the random part on its own
    }
    await store.close();
    for (const secret of secrets) expect(contents()).not.toContain(secret);
  });
});

describe('guarded', () => {
  // A read-only disk cannot be made under a running store here: as root, remounting read-only is
  // refused while files are open for writing. SQLite's refusal itself is real, from a read-only connection.
  it("maps SQLite's read-only refusal to StoreUnavailableError, and leaves other errors alone", async () => {
    const path = join(dir, 'tokens.db');
    await new SqliteTokenStore(path).close();
    const readOnly = new Database(path, { readonly: true });
    try {
      const write = () => readOnly.prepare("UPDATE tokens SET name = 'x'").run();
      expect(() => guarded(write)).toThrow(StoreUnavailableError);
      expect(() => guarded(write)).toThrow(/read-only/);
      expect(() => guarded(() => readOnly.prepare('SELECT nonsense FROM nowhere').run())).toThrow(
        Database.SqliteError,
      );
    } finally {
      readOnly.close();
    }
  });
});

describe('background checkpoints', () => {
  // A kilobyte of description each, so that 200 of them fill the log.
  const record = (name: string) => ({ ...tokenRecord(name), description: 'x'.repeat(1000) });
  const fill = (store: SqliteTokenStore) =>
    Promise.all(Array.from({ length: 200 }, (_, i) => store.insert(record(`t${i}`), Buffer.alloc(32, i))));
  const fileBytes = (path: string) => statSync(path).size;

  /** Runs `test` with the worker threads started meanwhile (the checkpointer is one). */
  async function countingWorkers(test: (workers: readonly unknown[]) => Promise<void>) {
    const workers: unknown[] = [];
    const started = (worker: unknown) => void workers.push(worker);
    process.on('worker', started);
    try {
      await test(workers);
    } finally {
      process.off('worker', started);
    }
  }

  it('copies the log into the database file off the request path, and stops on close', () =>
    countingWorkers(async (workers) => {
      const path = join(dir, 'tokens.db');
      const store = new SqliteTokenStore(path, { checkpointEveryMs: 20 });
      const before = fileBytes(path);
      await fill(store); // ~200 KiB of log: far below the writer's own checkpoint threshold
      await expect.poll(() => fileBytes(path), { timeout: 5000 }).toBeGreaterThan(before + 150_000);
      await store.close();
      // The thread that did it: what the test below finds missing when checkpoints are off.
      expect(workers).toHaveLength(1);
    }));

  it('leaves the log to grow until the writer checkpoints when switched off', () =>
    // The background checkpointer is a worker thread: switched off, none is ever started, so nothing
    // but the writer (at its threshold, far above this fill) copies the log into the file.
    countingWorkers(async (workers) => {
      const path = join(dir, 'tokens.db');
      const store = new SqliteTokenStore(path, { checkpointEveryMs: 0 });
      const before = fileBytes(path);
      await fill(store);
      expect(fileBytes(path)).toBe(before);
      await store.close();
      expect(workers).toEqual([]);
    }));

  it('reports a checkpointer that cannot work, and the store goes on without it', async () => {
    const path = join(dir, 'tokens.db');
    const failures: Error[] = [];
    const store = new SqliteTokenStore(path, {
      checkpointEveryMs: 20,
      onBackgroundError: (err) => void failures.push(err),
    });
    // Gone before the worker opens it; the store's own connection still holds the file open.
    rmSync(path);
    await expect.poll(() => failures.length, { timeout: 5000 }).toBeGreaterThan(0);
    expect(failures[0]?.message).toMatch(/^WAL checkpoint failed: /);
    expect(await store.insert(record('after'), Buffer.alloc(32, 1))).toBe('inserted');
    await store.close();
  });
});

/** A database file as an older server left it: the first `version` migrations, and these tokens (id, name, created_at), each its own digest. */
function olderDatabase(
  version: number,
  tokens: readonly [id: string, name: string, createdAt: number][],
): string {
  const path = join(dir, 'tokens.db');
  const db = new Database(path);
  db.exec(migrations.slice(0, version).join(';\n'));
  db.pragma(`user_version = ${version}`);
  const insert = db.prepare(
    "INSERT INTO tokens (id, name, description, created_at, dataset_capabilities, org_capabilities, secret_digest) VALUES (?, ?, '', ?, '{}', '{}', ?)",
  );
  for (const [index, [id, name, createdAt]] of tokens.entries())
    insert.run(id, name, createdAt, Buffer.alloc(32, index + 1));
  db.close();
  return path;
}

describe('bootstrap', () => {
  it('counts a store with tokens from before the bootstrap record as bootstrapped', async () => {
    const path = olderDatabase(2, [['x', 'old', 0]]);
    const store = new SqliteTokenStore(path);
    expect(await serviceOver(store).bootstrap()).toBeUndefined();
    await store.close();
  });
});

describe('migration to commit-order listing', () => {
  it('keeps every row of an older database, listed in their creation order', async () => {
    const path = olderDatabase(3, [
      ['b', 'second', 20],
      ['a', 'first', 10],
      ['c', 'third', 30],
    ]);
    const store = new SqliteTokenStore(path);
    const listed = await store.list({ now: new Date(0), limit: 10 });
    expect(listed.tokens.map((entry) => entry.token.name)).toEqual(['first', 'second', 'third']);
    expect(await store.findByDigest(Buffer.alloc(32, 1))).toMatchObject({ id: 'b', name: 'second' });
    await store.close();
  });
});
