// The SQLite store: durable across reopen, migrated once, and never holding a secret.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { catalog, manualClock } from '../../test/harness.js';
import { tokenRecord, uniqueDigest } from '../../test/records.js';
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
  it('creates the file and its directory on first open, and keeps tokens across a reopen', async () => {
    const path = join(dir, 'nested', 'tokens.db');
    const first = new SqliteTokenStore(path);
    const tokens = serviceOver(first);
    const admin = (await tokens.bootstrap())?.generatedSecret as string;
    const caller = await tokens.authenticate(admin);
    const created = await tokens.createToken(caller as NonNullable<typeof caller>, {
      name: 'survivor',
      expiresAt: null,
      datasetCapabilities: { logs: { query: ['read'] } },
    });
    await first.close();

    const reopened = new SqliteTokenStore(path);
    const found = await serviceOver(reopened).authenticate(created.secret);
    expect(found).toMatchObject({
      id: created.token.id,
      name: 'survivor',
      expiresAt: null,
      datasetCapabilities: { logs: { query: ['read'] } },
    });
    expect(await reopened.count()).toBe(2);
    await reopened.close();
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

describe('group commit', () => {
  const record = (id: string) => ({
    id,
    name: id,
    description: '',
    expiresAt: null,
    createdAt: new Date(0),
    datasetCapabilities: {},
    orgCapabilities: {},
    viewCapabilities: {},
    lastUsedAt: null,
    replacedBy: null,
  });
  const digest = (n: number) => Buffer.alloc(32, n);

  it('commits concurrent inserts together, and one bad row fails alone', async () => {
    const store = new SqliteTokenStore(join(dir, 'tokens.db'));
    const outcomes = await Promise.allSettled([
      store.insert(record('a'), digest(1)),
      store.insert(record('b'), digest(2)),
      store.insert(record('a'), digest(3)), // the same id again: refused by the primary key
      store.insert(record('c'), digest(4)),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    expect(await store.count()).toBe(3);
    await store.close();
  });

  it('resolves an insert only once it is committed: a reopened store sees it', async () => {
    const path = join(dir, 'tokens.db');
    const store = new SqliteTokenStore(path);
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.insert(record(`t${i}`), digest(i))));
    const reader = new Database(path, { readonly: true });
    expect((reader.prepare('SELECT count(*) AS n FROM tokens').get() as { n: number }).n).toBe(50);
    reader.close();
    await store.close();
  });
});

describe('background checkpoints', () => {
  const record = (id: string) => ({
    id,
    name: id,
    description: 'x'.repeat(1000),
    expiresAt: null,
    createdAt: new Date(0),
    datasetCapabilities: {},
    orgCapabilities: {},
    viewCapabilities: {},
    lastUsedAt: null,
    replacedBy: null,
  });
  const fill = (store: SqliteTokenStore) =>
    Promise.all(Array.from({ length: 200 }, (_, i) => store.insert(record(`t${i}`), Buffer.alloc(32, i))));
  const fileBytes = (path: string) => statSync(path).size;

  it('copies the log into the database file off the request path, and stops on close', async () => {
    const path = join(dir, 'tokens.db');
    const store = new SqliteTokenStore(path, { checkpointEveryMs: 20 });
    const before = fileBytes(path);
    await fill(store); // ~200 KiB of log: far below the writer's own checkpoint threshold
    await expect.poll(() => fileBytes(path), { timeout: 5000 }).toBeGreaterThan(before + 150_000);
    await store.close();
  });

  it('leaves the log to grow until the writer checkpoints when switched off', async () => {
    const path = join(dir, 'tokens.db');
    const store = new SqliteTokenStore(path, { checkpointEveryMs: 0 });
    const before = fileBytes(path);
    await fill(store);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(fileBytes(path)).toBe(before);
    await store.close();
  });

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

describe('insertFirst', () => {
  it('stores the bootstrap token once in the life of the store, even after every token is deleted', async () => {
    const store = new SqliteTokenStore(join(dir, 'tokens.db'));
    const tokens = serviceOver(store);
    const first = await tokens.bootstrap();
    expect(first?.generatedSecret).toBeDefined();
    const admin = await tokens.authenticate(first?.generatedSecret as string);
    await tokens.deleteToken((admin as NonNullable<typeof admin>).id);
    expect(await store.count()).toBe(0);
    expect(await tokens.bootstrap('a'.repeat(40))).toBeUndefined();
    expect(await tokens.authenticate('a'.repeat(40))).toBeUndefined();
    await store.close();
  });

  it('counts a store with tokens from before the bootstrap record as bootstrapped', async () => {
    const path = join(dir, 'tokens.db');
    const db = new Database(path);
    db.exec(migrations.slice(0, 2).join(';\n'));
    db.pragma('user_version = 2');
    db.prepare(
      "INSERT INTO tokens (id, name, description, created_at, dataset_capabilities, org_capabilities, secret_digest) VALUES ('x', 'old', '', 0, '{}', '{}', zeroblob(32))",
    ).run();
    db.close();
    const store = new SqliteTokenStore(path);
    expect(await serviceOver(store).bootstrap()).toBeUndefined();
    await store.close();
  });
});

describe('migration to commit-order listing', () => {
  it('keeps every row of an older database, listed in their creation order', async () => {
    const path = join(dir, 'tokens.db');
    const db = new Database(path);
    db.exec(migrations.slice(0, 3).join(';\n'));
    db.pragma('user_version = 3');
    const insert = db.prepare(
      "INSERT INTO tokens (id, name, description, created_at, dataset_capabilities, org_capabilities, secret_digest) VALUES (?, ?, '', ?, '{}', '{}', ?)",
    );
    insert.run('b', 'second', 20, Buffer.alloc(32, 2));
    insert.run('a', 'first', 10, Buffer.alloc(32, 1));
    insert.run('c', 'third', 30, Buffer.alloc(32, 3));
    db.close();
    const store = new SqliteTokenStore(path);
    const listed = await store.list({ now: new Date(0), limit: 10 });
    expect(listed.tokens.map((entry) => entry.token.name)).toEqual(['first', 'second', 'third']);
    expect(await store.findByDigest(Buffer.alloc(32, 2))).toMatchObject({ id: 'b', name: 'second' });
    await store.close();
  });
});

describe('recordUses', () => {
  it('writes a use only when the recorded one is at least the interval older, whoever writes it', async () => {
    const path = join(dir, 'tokens.db');
    // Two stores on one file stand for two processes recording uses of the same token.
    const [first, second] = [new SqliteTokenStore(path), new SqliteTokenStore(path)];
    const token = tokenRecord('used');
    await first.insert(token, uniqueDigest());
    const at = (ms: number) => new Date(Date.UTC(2030, 0, 1) + ms);
    const lastUsed = async () => (await first.findById(token.id, at(0)))?.lastUsedAt;

    expect(await lastUsed()).toBeNull();
    await first.recordUses([{ id: token.id, at: at(0) }], 60_000);
    expect(await lastUsed()).toEqual(at(0));
    await second.recordUses([{ id: token.id, at: at(59_999) }], 60_000);
    expect(await lastUsed()).toEqual(at(0));
    await second.recordUses(
      [
        { id: token.id, at: at(60_000) },
        { id: 'gone', at: at(60_000) },
      ],
      60_000,
    );
    expect(await lastUsed()).toEqual(at(60_000));
    await Promise.all([first.close(), second.close()]);
  });
});

describe('audit events', () => {
  const at = (ms: number) => new Date(Date.UTC(2030, 0, 1) + ms);
  const refusal = (address: string, time: Date, count: number) => ({
    id: `${address}-${time.getTime()}-${count}`,
    time,
    type: 'auth.refused' as const,
    actor: null,
    target: null,
    provenance: { address, requestId: 'r' },
    details: { count },
  });

  it('purges events older than the audit retention, in the background purge with the tokens', async () => {
    const store = new SqliteTokenStore(join(dir, 'tokens.db'), { auditRetentionMs: 60_000 });
    await store.recordRefusals([refusal('10.0.0.1', at(0), 1), refusal('10.0.0.2', at(90_000), 1)]);
    await store.purgeExpired(at(120_000));
    const { events } = await store.listAuditEvents({ limit: 10 });
    expect(events.map((event) => event.provenance?.address)).toEqual(['10.0.0.2']);
    await store.close();
  });

  it('merges refusals of one address within one UTC minute, keeping the first, adding the counts', async () => {
    const store = new SqliteTokenStore(':memory:');
    await store.recordRefusals([refusal('10.0.0.1', at(1000), 3), refusal('10.0.0.3', at(1000), 1)]);
    await store.recordRefusals([refusal('10.0.0.1', at(59_000), 4)]);
    await store.recordRefusals([refusal('10.0.0.1', at(60_000), 5)]);
    const { events } = await store.listAuditEvents({ limit: 10 });
    expect(events.map((event) => [event.provenance?.address, event.time, event.details])).toEqual([
      ['10.0.0.1', at(60_000), { count: 5 }],
      ['10.0.0.3', at(1000), { count: 1 }],
      ['10.0.0.1', at(1000), { count: 7 }],
    ]);
    await store.close();
  });
});
