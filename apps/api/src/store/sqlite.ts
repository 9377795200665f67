// The default TokenStore: one embedded SQLite file (better-sqlite3), WAL mode, durable on every commit.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { type AuditEventRow, auditRow, refusalKey, toAuditEvent } from './auditRows.js';
import { BackgroundPurge } from './backgroundPurge.js';
import { Checkpointer } from './checkpointer.js';
import { claimDatabase } from './claim.js';
import { migrations } from './migrations.js';
import {
  type AuditEvent,
  type AuditPage,
  type AuditQuery,
  DEFAULT_AUDIT_RETENTION_MS,
  DEFAULT_EXPIRED_TOKEN_RETENTION_MS,
  type InsertOutcome,
  type Issuer,
  type ListPage,
  type ListPosition,
  type OutlivesIssuer,
  type RegenerateOutcome,
  type RegenerateRequest,
  type StoreOptions,
  StoreUnavailableError,
  type TokenRecord,
  type TokenStore,
  type TokenUse,
} from './store.js';

interface TokenRow {
  id: string;
  name: string;
  description: string;
  expires_at: number | null;
  created_at: number;
  dataset_capabilities: string;
  org_capabilities: string;
  view_capabilities: string;
  replaced_by: string | null;
  last_used_at: number | null;
  seq: number;
}

const COLUMNS =
  'seq, id, name, description, expires_at, created_at, dataset_capabilities, org_capabilities, view_capabilities, replaced_by, last_used_at';
const LIVE = '(expires_at IS NULL OR expires_at > @now)';

const toRecord = (row: TokenRow): TokenRecord => ({
  id: row.id,
  name: row.name,
  description: row.description,
  expiresAt: row.expires_at === null ? null : new Date(row.expires_at),
  createdAt: new Date(row.created_at),
  datasetCapabilities: JSON.parse(row.dataset_capabilities),
  orgCapabilities: JSON.parse(row.org_capabilities),
  viewCapabilities: JSON.parse(row.view_capabilities),
  lastUsedAt: row.last_used_at === null ? null : new Date(row.last_used_at),
  replacedBy: row.replaced_by,
});

const toRow = (token: TokenRecord, secretDigest: Buffer) => ({
  id: token.id,
  name: token.name,
  description: token.description,
  expiresAt: token.expiresAt?.getTime() ?? null,
  createdAt: token.createdAt.getTime(),
  datasetCapabilities: JSON.stringify(token.datasetCapabilities),
  orgCapabilities: JSON.stringify(token.orgCapabilities),
  viewCapabilities: JSON.stringify(token.viewCapabilities),
  secretDigest,
});

/** SQLite result codes that mean "not now" rather than "never": the environment, not the request. */
const TRANSIENT_FAILURES: [prefix: string, reason: string][] = [
  ['SQLITE_FULL', 'disk full'],
  ['SQLITE_READONLY', 'database is read-only'],
  ['SQLITE_BUSY', 'database is locked'],
  ['SQLITE_LOCKED', 'database is locked'],
  ['SQLITE_IOERR', 'disk I/O error'],
  ['SQLITE_CANTOPEN', 'database file cannot be opened'],
  ['SQLITE_PROTOCOL', 'database is locked'],
];

/** Runs a statement, turning the environment's failures into StoreUnavailableError; anything else is a bug. */
export function guarded<T>(run: () => T): T {
  try {
    return run();
  } catch (err) {
    const code = err instanceof Database.SqliteError ? err.code : undefined;
    const failure = TRANSIENT_FAILURES.find(([prefix]) => code?.startsWith(prefix));
    if (failure !== undefined) throw new StoreUnavailableError(failure[1], { cause: err });
    throw err;
  }
}

/**
 * Brings the schema up to date in one write transaction and returns how many migrations it applied;
 * refuses a database newer than this code. The version is read again once the write lock is held,
 * so of two processes opening a new database together one migrates and the other finds it done.
 */
export function migrate(db: Database.Database): number {
  const version = () => {
    const applied = db.pragma('user_version', { simple: true }) as number;
    if (applied > migrations.length) {
      throw new Error(
        `database schema version ${applied} is newer than this server knows (${migrations.length})`,
      );
    }
    return applied;
  };
  // Up to date, the common case: no write lock needed.
  if (version() === migrations.length) return 0;
  return db
    .transaction(() => {
      const applied = version();
      for (const sql of migrations.slice(applied)) db.exec(sql);
      db.pragma(`user_version = ${migrations.length}`);
      return migrations.length - applied;
    })
    .immediate();
}

export interface SqliteStoreOptions extends StoreOptions {
  busyTimeoutMs?: number;
  /** How often the background checkpointer runs; 0 leaves checkpoints to SQLite, in the writer. */
  checkpointEveryMs?: number;
  /** How often the background purge runs; 0: never in the background, only when purgeExpired is called. */
  purgeEveryMs?: number;
  /** At most how many expired rows a listing reads past for one page before ending it early. */
  expiredRowsReadPerPage?: number;
}

/** Long-expired rows cost listing only a bounded read per page, so a purge every ten minutes is plenty. */
const DEFAULT_PURGE_EVERY_MS = 10 * 60 * 1000;

/** Rows deleted per purge transaction: each holds the write lock for about a millisecond. */
export const PURGE_BATCH_SIZE = 500;

/** Expired rows a page of a listing reads past at most, as many as a full page of live ones. */
const DEFAULT_EXPIRED_ROWS_READ_PER_PAGE = 1000;

/**
 * How long opening waits for another process's write lock: two servers starting together on a new
 * database take turns to migrate, and migrating a large one can take seconds. Nothing is served yet.
 */
const OPEN_BUSY_TIMEOUT_MS = 30_000;

/** How long to wait between tries to switch a new database to WAL while another process holds it. */
const WAL_SWITCH_RETRY_MS = 20;

/**
 * Switches the database to write-ahead logging (a setting kept in the file). The switch needs an
 * exclusive lock taken from a shared one, and SQLite answers SQLITE_BUSY at once, without waiting
 * out the busy timeout, when another connection is after the same lock (waiting could deadlock):
 * two servers opening a new file together meet exactly that. So it is retried here, up to the
 * open's own deadline; a file already in WAL mode needs no lock at all.
 */
function useWriteAheadLog(db: Database.Database): void {
  const deadline = Date.now() + OPEN_BUSY_TIMEOUT_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      const busy = (err as { code?: string }).code?.startsWith('SQLITE_BUSY') === true;
      if (!busy || Date.now() >= deadline) throw err;
      // The constructor is synchronous, as better-sqlite3 is: a short blocking pause at start-up only.
      Atomics.wait(pause, 0, 0, WAL_SWITCH_RETRY_MS);
    }
  }
}

/**
 * 64 MiB of log (in 4 KiB pages): past it the writer checkpoints itself, as SQLite does by default
 * at 4 MiB. Reached only when writes outrun the background checkpointer for a long while.
 */
const BACKSTOP_CHECKPOINT_PAGES = 16_384;

/** An insert waiting for the next group commit. */
interface PendingInsert {
  row: ReturnType<typeof toRow>;
  issuer: Issuer | undefined;
  event: AuditEvent | undefined;
  resolve: (outcome: InsertOutcome) => void;
  reject: (err: unknown) => void;
}

export class SqliteTokenStore implements TokenStore {
  /** One process per database unless claimed `shared` (see Claim): index.ts decides through the claim. */
  readonly multiProcess = false;
  readonly #db: Database.Database;
  readonly #statements;
  readonly #regenerate: (request: RegenerateRequest) => RegenerateOutcome;
  readonly #insertAll: (batch: PendingInsert[]) => InsertOutcome[];
  readonly #insertFirst: (row: ReturnType<typeof toRow>, event: AuditEvent | undefined) => boolean;
  readonly #delete: (id: string, now: number, event: AuditEvent | undefined) => boolean;
  readonly #recordRefusals: (events: readonly AuditEvent[]) => void;
  readonly #purgeAuditBatch: (cutoff: number) => number;
  readonly #auditRetentionMs: number;
  #pending: PendingInsert[] = [];
  readonly #checkpointer: Checkpointer | undefined;
  readonly #releaseClaim: () => void;
  readonly #list: (options: { now: number; limit: number; after: number }) => ListPage;
  readonly #purgeBatch: (cutoff: number) => number;
  readonly #recordUses: (uses: readonly TokenUse[], minIntervalMs: number) => void;
  readonly #retentionMs: number;
  readonly #expiredRowsReadPerPage: number;
  readonly #backgroundPurge: BackgroundPurge | undefined;
  #closing = false;
  /** How many migrations opening applied: 0 when the schema was already up to date. */
  readonly migrationsApplied: number;

  /**
   * Opens (creating if needed) the database file at `path`, or an in-memory one for ':memory:', and
   * migrates it. A write that finds the database locked waits up to `busyTimeoutMs`, then fails as
   * unavailable; kept short, since better-sqlite3 waits synchronously and the whole process waits too.
   * A file database gets a background checkpointer (see checkpointer.ts) unless `checkpointEveryMs`
   * is 0; its failures go to `onBackgroundError`. With `claim`, it throws StoreInUseError when
   * another process's claim rules this one out. Tokens expired for longer than
   * `expiredTokenRetentionMs` are purged every `purgeEveryMs`, failures going to `onBackgroundError`.
   */
  constructor(path: string, options: SqliteStoreOptions = {}) {
    const {
      busyTimeoutMs = 1000,
      checkpointEveryMs = 1000,
      onBackgroundError = () => {},
      claim,
      expiredTokenRetentionMs = DEFAULT_EXPIRED_TOKEN_RETENTION_MS,
      auditRetentionMs = DEFAULT_AUDIT_RETENTION_MS,
      purgeEveryMs = DEFAULT_PURGE_EVERY_MS,
      expiredRowsReadPerPage = DEFAULT_EXPIRED_ROWS_READ_PER_PAGE,
    } = options;
    this.#retentionMs = expiredTokenRetentionMs;
    this.#auditRetentionMs = auditRetentionMs;
    this.#expiredRowsReadPerPage = expiredRowsReadPerPage;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    // Claimed before the database is even opened: a process that may not use it must not migrate it.
    // No claim is checked when none is given, as for tools that open the database while no server runs.
    this.#releaseClaim = path !== ':memory:' && claim !== undefined ? claimDatabase(path, claim) : () => {};
    let opened: Database.Database | undefined;
    try {
      opened = new Database(path, { timeout: OPEN_BUSY_TIMEOUT_MS });
      useWriteAheadLog(opened);
      // FULL: a commit is on disk before the answer leaves, so an acknowledged write survives a crash or power loss.
      opened.pragma('synchronous = FULL');
      this.migrationsApplied = migrate(opened);
      opened.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
    } catch (err) {
      opened?.close();
      this.#releaseClaim();
      throw err;
    }
    this.#db = opened;
    const db = this.#db;
    this.#statements = {
      insert: db.prepare(
        `INSERT INTO tokens (id, name, description, expires_at, created_at, dataset_capabilities, org_capabilities, view_capabilities, secret_digest)
         VALUES (@id, @name, @description, @expiresAt, @createdAt, @datasetCapabilities, @orgCapabilities, @viewCapabilities, @secretDigest)`,
      ),
      findByDigest: db.prepare<[Buffer], TokenRow>(`SELECT ${COLUMNS} FROM tokens WHERE secret_digest = ?`),
      findById: db.prepare<{ id: string; now: number }, TokenRow>(
        `SELECT ${COLUMNS} FROM tokens WHERE id = @id AND ${LIVE}`,
      ),
      // The live rows among the next `scan` rows: a page reads a bounded number of expired ones.
      list: db.prepare<{ now: number; after: number; scan: number; limit: number }, TokenRow>(
        `SELECT * FROM (SELECT ${COLUMNS} FROM tokens WHERE seq > @after ORDER BY seq LIMIT @scan)
         WHERE ${LIVE} ORDER BY seq LIMIT @limit`,
      ),
      firstAfterScan: db.prepare<{ after: number; scan: number }, { seq: number }>(
        'SELECT seq FROM tokens WHERE seq > @after ORDER BY seq LIMIT 1 OFFSET @scan',
      ),
      purge: db.prepare<{ cutoff: number; batch: number }>(
        `DELETE FROM tokens WHERE seq IN
           (SELECT seq FROM tokens WHERE expires_at IS NOT NULL AND expires_at < @cutoff LIMIT @batch)`,
      ),
      delete: db.prepare<{ id: string; now: number }>(`DELETE FROM tokens WHERE id = @id AND ${LIVE}`),
      markReplaced: db.prepare<{ id: string; now: number; grace: number; replacedBy: string }>(
        `UPDATE tokens
         SET expires_at = CASE WHEN expires_at IS NULL OR expires_at > @grace THEN @grace ELSE expires_at END,
             replaced_by = @replacedBy
         WHERE id = @id AND ${LIVE} AND replaced_by IS NULL`,
      ),
      exists: db.prepare<{ id: string; now: number }, { expires_at: number | null }>(
        `SELECT expires_at FROM tokens WHERE id = @id AND ${LIVE}`,
      ),
      recordUse: db.prepare<{ id: string; at: number; minIntervalMs: number }>(
        `UPDATE tokens SET last_used_at = @at
         WHERE id = @id AND (last_used_at IS NULL OR last_used_at <= @at - @minIntervalMs)`,
      ),
      count: db.prepare<[], { count: number }>('SELECT count(*) AS count FROM tokens'),
      // Reads the file (a small table), so a database that cannot be read answers unavailable.
      ping: db.prepare('SELECT count(*) FROM meta'),
      // Newest first; `after` is the last seq of the previous page.
      listEvents: db.prepare<
        {
          after: number | null;
          type: string | null;
          tokenId: string | null;
          since: number | null;
          until: number | null;
          limit: number;
        },
        AuditEventRow & { seq: number }
      >(
        `SELECT * FROM audit_events
         WHERE (@after IS NULL OR seq < @after)
           AND (@type IS NULL OR type = @type)
           AND (@tokenId IS NULL OR actor_token_id = @tokenId OR target_token_id = @tokenId)
           AND (@since IS NULL OR time >= @since)
           AND (@until IS NULL OR time < @until)
         ORDER BY seq DESC LIMIT @limit`,
      ),
      insertEvent: db.prepare<AuditEventRow>(
        `INSERT INTO audit_events (id, time, type, actor_token_id, actor_name, target_token_id, target_name, client_address, request_id, details, refusal_key)
         VALUES (@id, @time, @type, @actor_token_id, @actor_name, @target_token_id, @target_name, @client_address, @request_id, @details, @refusal_key)`,
      ),
      mergeRefusal: db.prepare<AuditEventRow>(
        `INSERT INTO audit_events (id, time, type, actor_token_id, actor_name, target_token_id, target_name, client_address, request_id, details, refusal_key)
         VALUES (@id, @time, @type, @actor_token_id, @actor_name, @target_token_id, @target_name, @client_address, @request_id, @details, @refusal_key)
         ON CONFLICT (refusal_key) DO UPDATE SET details = json_set(details, '$.count',
           json_extract(details, '$.count') + json_extract(excluded.details, '$.count'))`,
      ),
      purgeEvents: db.prepare<{ cutoff: number; batch: number }>(
        `DELETE FROM audit_events WHERE seq IN
           (SELECT seq FROM audit_events WHERE time < @cutoff LIMIT @batch)`,
      ),
      isBootstrapped: db.prepare<[], { key: string }>("SELECT key FROM meta WHERE key = 'bootstrapped'"),
      markBootstrapped: db.prepare<[string]>("INSERT INTO meta (key, value) VALUES ('bootstrapped', ?)"),
    };

    const statements = this.#statements;
    /**
     * The issuer as it is at commit, not as it was when its request was authenticated: still live,
     * and expiring no sooner than the token it issues (`expiresAt`, Unix ms; null: never).
     */
    const refuseIssuer = (
      issuer: Issuer | undefined,
      expiresAt: number | null,
    ): 'issuer_gone' | OutlivesIssuer | undefined => {
      if (issuer === undefined) return undefined;
      const found = statements.exists.get({ id: issuer.id, now: issuer.now.getTime() });
      if (found === undefined) return 'issuer_gone';
      const issuerExpiresAt = found.expires_at;
      if (issuerExpiresAt !== null && (expiresAt === null || expiresAt > issuerExpiresAt))
        return { outlivesIssuer: new Date(issuerExpiresAt) };
      return undefined;
    };
    // Every write transaction is IMMEDIATE: it takes the write lock before its first read. A
    // DEFERRED one reads first, and if another process commits before it writes, SQLite refuses it
    // outright (SQLITE_BUSY_SNAPSHOT) instead of waiting its turn. Lone statements (delete) take
    // the lock as they start.
    this.#regenerate = db.transaction((request: RegenerateRequest): RegenerateOutcome => {
      // Before the token is marked: a caller regenerating itself is judged by its expiry before the cut.
      const refused = refuseIssuer(request.issuer, request.replacement.expiresAt?.getTime() ?? null);
      if (refused !== undefined) return refused;
      const now = request.now.getTime();
      const marked = statements.markReplaced.run({
        id: request.id,
        now,
        grace: request.existingTokenExpiresAt.getTime(),
        replacedBy: request.replacement.id,
      });
      if (marked.changes === 0) {
        return statements.exists.get({ id: request.id, now }) === undefined
          ? 'not_found'
          : 'already_regenerated';
      }
      statements.insert.run(toRow(request.replacement, request.replacementSecretDigest));
      if (request.event !== undefined) statements.insertEvent.run(auditRow(request.event));
      return 'regenerated';
    }).immediate;
    this.#insertAll = db.transaction((batch: PendingInsert[]) =>
      batch.map((pending): InsertOutcome => {
        const refused = refuseIssuer(pending.issuer, pending.row.expiresAt);
        if (refused !== undefined) return refused;
        statements.insert.run(pending.row);
        if (pending.event !== undefined) statements.insertEvent.run(auditRow(pending.event));
        return 'inserted';
      }),
    ).immediate;
    this.#insertFirst = db.transaction((row: ReturnType<typeof toRow>, event: AuditEvent | undefined) => {
      if (statements.isBootstrapped.get() !== undefined || (statements.count.get()?.count ?? 0) > 0)
        return false;
      statements.insert.run(row);
      if (event !== undefined) statements.insertEvent.run(auditRow(event));
      statements.markBootstrapped.run(new Date().toISOString());
      return true;
    }).immediate;
    this.#delete = db.transaction((id: string, now: number, event: AuditEvent | undefined) => {
      const deleted = statements.delete.run({ id, now }).changes > 0;
      if (deleted && event !== undefined) statements.insertEvent.run(auditRow(event));
      return deleted;
    }).immediate;
    this.#recordRefusals = db.transaction((events: readonly AuditEvent[]) => {
      for (const event of events) statements.mergeRefusal.run(auditRow(event, refusalKey(event)));
    }).immediate;
    this.#purgeAuditBatch = db.transaction(
      (cutoff: number) => statements.purgeEvents.run({ cutoff, batch: PURGE_BATCH_SIZE }).changes,
    ).immediate;
    this.#purgeBatch = db.transaction(
      (cutoff: number) => statements.purge.run({ cutoff, batch: PURGE_BATCH_SIZE }).changes,
    ).immediate;
    this.#recordUses = db.transaction((uses: readonly TokenUse[], minIntervalMs: number) => {
      for (const use of uses) statements.recordUse.run({ id: use.id, at: use.at.getTime(), minIntervalMs });
    }).immediate;
    // Read-only, so DEFERRED: one snapshot for both reads, so the next page starts where this one read to.
    this.#list = db.transaction(({ now, limit, after }: { now: number; limit: number; after: number }) => {
      const scan = limit + 1 + this.#expiredRowsReadPerPage;
      // One more than asked for tells whether another page follows.
      const rows = statements.list.all({ now, after, scan, limit: limit + 1 });
      const tokens = rows.slice(0, limit).map((row) => ({ token: toRecord(row), position: row.seq }));
      if (rows.length > limit) return { tokens, next: tokens.at(-1)?.position };
      // Every live row read is in the page; if the read stopped short of the end, carry on after it.
      const following = statements.firstAfterScan.get({ after, scan });
      return { tokens, next: following === undefined ? undefined : following.seq - 1 };
    });

    // Last, once nothing else can fail: a store that failed to open must leave no worker running.
    if (path !== ':memory:' && checkpointEveryMs > 0) {
      // The writer checkpoints only as a backstop, should the log outgrow what the worker keeps up with.
      db.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
      this.#checkpointer = new Checkpointer(path, {
        intervalMs: checkpointEveryMs,
        onError: onBackgroundError,
      });
    }
    if (purgeEveryMs > 0) {
      this.#backgroundPurge = new BackgroundPurge(
        (now) => this.purgeExpired(now),
        purgeEveryMs,
        onBackgroundError,
      );
    }
  }

  /**
   * Group commit: inserts that arrive in the same turn of the event loop are written in one
   * transaction, so concurrent creates share one fsync instead of queueing behind one each. Each
   * promise resolves only once its row is durably committed.
   */
  insert(
    token: TokenRecord,
    secretDigest: Buffer,
    issuer?: Issuer,
    event?: AuditEvent,
  ): Promise<InsertOutcome> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ row: toRow(token, secretDigest), issuer, event, resolve, reject });
      if (this.#pending.length === 1) setImmediate(() => this.#commitPending());
    });
  }

  #commitPending(): void {
    const batch = this.#pending;
    this.#pending = [];
    try {
      const outcomes = guarded(() => this.#insertAll(batch));
      for (const [index, pending] of batch.entries()) pending.resolve(outcomes[index] ?? 'inserted');
    } catch (err) {
      // The environment failed (disk full, locked): every row would fail the same way, and retrying
      // each would block the process once per row. Only a failure of the rows' own is split up.
      if (batch.length === 1 || err instanceof StoreUnavailableError) {
        for (const pending of batch) pending.reject(err);
        return;
      }
      // One bad row must not fail its neighbours: commit each on its own to find out whose it is.
      for (const pending of batch) {
        try {
          pending.resolve(guarded(() => this.#insertAll([pending]))[0] ?? 'inserted');
        } catch (rowError) {
          pending.reject(rowError);
        }
      }
    }
  }

  async insertFirst(token: TokenRecord, secretDigest: Buffer, event?: AuditEvent): Promise<boolean> {
    return guarded(() => this.#insertFirst(toRow(token, secretDigest), event));
  }

  async findByDigest(secretDigest: Buffer): Promise<TokenRecord | undefined> {
    const row = guarded(() => this.#statements.findByDigest.get(secretDigest));
    return row === undefined ? undefined : toRecord(row);
  }

  async findById(id: string, now: Date): Promise<TokenRecord | undefined> {
    const row = guarded(() => this.#statements.findById.get({ id, now: now.getTime() }));
    return row === undefined ? undefined : toRecord(row);
  }

  async list({ now, limit, after }: { now: Date; limit: number; after?: ListPosition }): Promise<ListPage> {
    return guarded(() => this.#list({ now: now.getTime(), limit, after: after ?? 0 })); // seq starts at 1
  }

  /**
   * Deletes tokens expired for longer than the retention period, PURGE_BATCH_SIZE rows per
   * transaction, letting the event loop turn between batches so that requests are never held up
   * for more than one. Stops early when the store closes.
   */
  async purgeExpired(now: Date): Promise<number> {
    const purged = await this.#purgeInBatches(this.#purgeBatch, now.getTime() - this.#retentionMs);
    await this.#purgeInBatches(this.#purgeAuditBatch, now.getTime() - this.#auditRetentionMs);
    return purged;
  }

  async #purgeInBatches(purgeBatch: (cutoff: number) => number, cutoff: number): Promise<number> {
    let purged = 0;
    while (!this.#closing) {
      const deleted = guarded(() => purgeBatch(cutoff));
      purged += deleted;
      if (deleted < PURGE_BATCH_SIZE) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    return purged;
  }

  async delete(id: string, now: Date, event?: AuditEvent): Promise<boolean> {
    return guarded(() => this.#delete(id, now.getTime(), event));
  }

  async recordRefusals(events: readonly AuditEvent[]): Promise<void> {
    if (events.length > 0) guarded(() => this.#recordRefusals(events));
  }

  async listAuditEvents(query: AuditQuery): Promise<AuditPage> {
    const rows = guarded(() =>
      this.#statements.listEvents.all({
        after: query.after ?? null,
        type: query.type ?? null,
        tokenId: query.tokenId ?? null,
        since: query.since?.getTime() ?? null,
        until: query.until?.getTime() ?? null,
        limit: query.limit + 1,
      }),
    );
    const events = rows.slice(0, query.limit);
    return {
      events: events.map(toAuditEvent),
      next: rows.length > query.limit ? events.at(-1)?.seq : undefined,
    };
  }

  async regenerate(request: RegenerateRequest): Promise<RegenerateOutcome> {
    return guarded(() => this.#regenerate(request));
  }

  async recordUses(uses: readonly TokenUse[], minIntervalMs: number): Promise<void> {
    if (uses.length > 0) guarded(() => this.#recordUses(uses, minIntervalMs));
  }

  async count(): Promise<number> {
    return guarded(() => this.#statements.count.get())?.count ?? 0;
  }

  async ping(): Promise<void> {
    guarded(() => this.#statements.ping.get());
  }

  async close(): Promise<void> {
    this.#closing = true;
    try {
      await this.#backgroundPurge?.stop();
      await this.#checkpointer?.stop();
      if (this.#pending.length > 0) this.#commitPending();
      if (this.#db.open) this.#db.close();
    } finally {
      this.#releaseClaim();
    }
  }
}
