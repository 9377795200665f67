// The default TokenStore: one embedded SQLite file (better-sqlite3), WAL mode, durable on every commit.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrations } from './migrations.js';
import type { TokenRecord, TokenStore } from './store.js';

interface TokenRow {
  id: string;
  name: string;
  description: string;
  expires_at: number | null;
  created_at: number;
  dataset_capabilities: string;
  org_capabilities: string;
}

const toRecord = (row: TokenRow): TokenRecord => ({
  id: row.id,
  name: row.name,
  description: row.description,
  expiresAt: row.expires_at === null ? null : new Date(row.expires_at),
  createdAt: new Date(row.created_at),
  datasetCapabilities: JSON.parse(row.dataset_capabilities),
  orgCapabilities: JSON.parse(row.org_capabilities),
});

/** Brings the schema up to date in one transaction; refuses a database newer than this code. */
export function migrate(db: Database.Database): void {
  const applied = db.pragma('user_version', { simple: true }) as number;
  if (applied > migrations.length) {
    throw new Error(
      `database schema version ${applied} is newer than this server knows (${migrations.length})`,
    );
  }
  db.transaction(() => {
    for (const sql of migrations.slice(applied)) db.exec(sql);
    db.pragma(`user_version = ${migrations.length}`);
  })();
}

export class SqliteTokenStore implements TokenStore {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  readonly #findByDigest: Database.Statement<[Buffer], TokenRow>;
  readonly #count: Database.Statement<[], { count: number }>;

  /** Opens (creating if needed) the database file at `path`, or an in-memory one for ':memory:', and migrates it. */
  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    // FULL: a commit is on disk before the answer leaves, so an acknowledged create survives a crash or power loss.
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('busy_timeout = 5000');
    migrate(this.#db);
    this.#insert = this.#db.prepare(
      `INSERT INTO tokens (id, name, description, expires_at, created_at, dataset_capabilities, org_capabilities, secret_digest)
       VALUES (@id, @name, @description, @expiresAt, @createdAt, @datasetCapabilities, @orgCapabilities, @secretDigest)`,
    );
    this.#findByDigest = this.#db.prepare('SELECT * FROM tokens WHERE secret_digest = ?');
    this.#count = this.#db.prepare('SELECT count(*) AS count FROM tokens');
  }

  async insert(token: TokenRecord, secretDigest: Buffer): Promise<void> {
    this.#insert.run({
      id: token.id,
      name: token.name,
      description: token.description,
      expiresAt: token.expiresAt?.getTime() ?? null,
      createdAt: token.createdAt.getTime(),
      datasetCapabilities: JSON.stringify(token.datasetCapabilities),
      orgCapabilities: JSON.stringify(token.orgCapabilities),
      secretDigest,
    });
  }

  async findByDigest(secretDigest: Buffer): Promise<TokenRecord | undefined> {
    const row = this.#findByDigest.get(secretDigest);
    return row === undefined ? undefined : toRecord(row);
  }

  async count(): Promise<number> {
    return this.#count.get()?.count ?? 0;
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}

/** Opens the store a `DATABASE_URL` names; only `sqlite:<path>` (or `sqlite::memory:`) is supported today. */
export function openStore(databaseUrl: string): TokenStore {
  const match = /^sqlite:(.+)$/.exec(databaseUrl);
  if (match?.[1] === undefined) {
    // The value itself is not echoed: a future postgres:// URL would carry a password.
    throw new Error(
      'DATABASE_URL: unsupported value; expected sqlite:<path>, for example sqlite:./data/tokens.db',
    );
  }
  return new SqliteTokenStore(match[1]);
}
