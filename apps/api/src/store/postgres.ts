// The PostgreSQL TokenStore: a pg connection pool, plain SQL, safe for any number of server processes on one database.
import pg from 'pg';
import { type AuditEventRow, auditRow, refusalKey, toAuditEvent } from './auditRows.js';
import { BackgroundPurge } from './backgroundPurge.js';
import { isMissingDatabase, toStoreError, unavailableReason } from './postgresErrors.js';
import { postgresMigrations } from './postgresMigrations.js';
import {
  type AuditEvent,
  type AuditPage,
  type AuditQuery,
  DEFAULT_AUDIT_RETENTION_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_EXPIRED_TOKEN_RETENTION_MS,
  DEFAULT_POOL_SIZE,
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

export interface PostgresStoreOptions extends StoreOptions {
  /** Connections in the pool (DATABASE_POOL_SIZE). */
  poolSize?: number;
  /**
   * How long opening keeps trying to reach the database (DATABASE_CONNECT_TIMEOUT), retrying with
   * backoff: replicas and the database are often started together.
   */
  connectTimeoutMs?: number;
  /** How long a request waits for a connection (pooled or new) before it answers unavailable. */
  acquireTimeoutMs?: number;
  /** How often the background purge runs; 0: never in the background, only when purgeExpired is called. */
  purgeEveryMs?: number;
  /** At most how many expired rows a listing reads past for one page before ending it early. */
  expiredRowsReadPerPage?: number;
}

const DEFAULT_ACQUIRE_TIMEOUT_MS = 5000;
/** Long-expired rows cost listing only a bounded read per page, so a purge every ten minutes is plenty. */
const DEFAULT_PURGE_EVERY_MS = 10 * 60 * 1000;
/** Rows deleted per purge statement: a short transaction, so the purge never holds up requests. */
export const PURGE_BATCH_SIZE = 500;
const DEFAULT_EXPIRED_ROWS_READ_PER_PAGE = 1000;
/** The advisory lock migrations run under, per database: an arbitrary constant of this service's. */
const MIGRATION_LOCK_KEY = '5710170513';
/** Deadlocks and serialization failures are retried this many times before the store gives up. */
const TRANSACTION_ATTEMPTS = 3;

interface TokenRow {
  position: string; // bigint arrives as text
  id: string;
  name: string;
  description: string;
  expires_at: Date | null;
  created_at: Date;
  dataset_capabilities: TokenRecord['datasetCapabilities'];
  org_capabilities: TokenRecord['orgCapabilities'];
  view_capabilities: TokenRecord['viewCapabilities'];
  replaced_by: string | null;
  last_used_at: Date | null;
}

const COLUMNS =
  'position, id, name, description, expires_at, created_at, dataset_capabilities, org_capabilities, view_capabilities, replaced_by, last_used_at';

const toRecord = (row: TokenRow): TokenRecord => ({
  id: row.id,
  name: row.name,
  description: row.description,
  expiresAt: row.expires_at,
  createdAt: row.created_at,
  datasetCapabilities: row.dataset_capabilities,
  orgCapabilities: row.org_capabilities,
  viewCapabilities: row.view_capabilities,
  lastUsedAt: row.last_used_at,
  replacedBy: row.replaced_by,
});

const isRetryable = (err: unknown) => {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '40001' || code === '40P01';
};

/**
 * Takes a connection from the pool, listening for its failure while it is checked out: pg reports
 * a connection that ends between two statements as an 'error' event, which the pool listens for
 * only while the connection is idle; unheard, it would end the process. The statement in progress,
 * if any, fails too, and the connection is destroyed on release.
 */
async function checkOut(
  pool: pg.Pool,
): Promise<{ client: pg.PoolClient; giveBack: (broken: boolean) => void }> {
  const client = await pool.connect();
  let failed = false;
  const onError = () => {
    failed = true;
  };
  client.on('error', onError);
  return {
    client,
    giveBack(broken) {
      client.removeListener('error', onError);
      client.release(broken || failed);
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Where `url` points, for messages: host, port and database, never the user or password. */
export function describeDatabase(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return 'the database';
  }
}

/**
 * Brings the schema up to date and returns how many migrations it applied; refuses a database newer
 * than this code. Runs under a session advisory lock, so of several replicas starting together on
 * one database one migrates and the others, waiting their turn, find it done. Each migration
 * commits together with the version it brings the schema to.
 */
export async function migratePostgres(pool: pg.Pool): Promise<number> {
  const { client, giveBack } = await checkOut(pool);
  let broken = false;
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await client.query(
        `CREATE TABLE IF NOT EXISTS schema_version (
           only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
           version  integer NOT NULL
         )`,
      );
      const found = await client.query<{ version: number }>('SELECT version FROM schema_version');
      const applied = found.rows[0]?.version ?? 0;
      if (applied > postgresMigrations.length) {
        throw new Error(
          `database schema version ${applied} is newer than this server knows (${postgresMigrations.length})`,
        );
      }
      for (let version = applied + 1; version <= postgresMigrations.length; version++) {
        await client.query('BEGIN');
        try {
          await client.query(postgresMigrations[version - 1] as string);
          await client.query(
            `INSERT INTO schema_version (version) VALUES ($1)
             ON CONFLICT (only_row) DO UPDATE SET version = EXCLUDED.version`,
            [version],
          );
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => {});
          throw err;
        }
      }
      return postgresMigrations.length - applied;
    } finally {
      // The lock also goes with the session, should the connection have broken.
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {
        broken = true;
      });
    }
  } catch (err) {
    broken ||= unavailableReason(err) !== undefined;
    throw err;
  } finally {
    giveBack(broken);
  }
}

/** An insert waiting for the next group commit. */
interface PendingInsert {
  token: TokenRecord;
  secretDigest: Buffer;
  issuer: Issuer | undefined;
  event: AuditEvent | undefined;
  resolve: (outcome: InsertOutcome) => void;
  reject: (err: unknown) => void;
}

/**
 * Inserts rows at the end of the listing order, within the caller's transaction. The position
 * counter's row stays locked until that transaction ends, so inserting transactions take their
 * positions one after another, each after the previous one committed (or rolled back): a
 * transaction that commits later always holds higher positions, and a reader that has seen
 * position p has seen every committed row at or below it. (A sequence would not do: it hands out
 * numbers as rows are inserted, and a lower number could commit after a page past it was read.)
 * The lock is taken last, by the statement that inserts, so it is held only for the insert and the
 * commit.
 */
async function insertRows(
  client: pg.PoolClient,
  rows: readonly { token: TokenRecord; secretDigest: Buffer }[],
): Promise<void> {
  const column = <T>(pick: (row: { token: TokenRecord; secretDigest: Buffer }) => T) => rows.map(pick);
  await client.query(
    `WITH counter AS (UPDATE list_position SET last = last + $1 RETURNING last)
     INSERT INTO tokens (position, id, name, description, expires_at, created_at,
                         dataset_capabilities, org_capabilities, view_capabilities, secret_digest)
     SELECT counter.last - $1 + t.ordinal, t.id, t.name, t.description, t.expires_at, t.created_at,
            t.dataset_capabilities, t.org_capabilities, t.view_capabilities, t.secret_digest
     FROM counter,
          unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[],
                 $7::json[], $8::json[], $9::json[], $10::bytea[])
            WITH ORDINALITY AS t(id, name, description, expires_at, created_at,
                                 dataset_capabilities, org_capabilities, view_capabilities, secret_digest, ordinal)`,
    [
      rows.length,
      column((row) => row.token.id),
      column((row) => row.token.name),
      column((row) => row.token.description),
      column((row) => row.token.expiresAt),
      column((row) => row.token.createdAt),
      column((row) => JSON.stringify(row.token.datasetCapabilities)),
      column((row) => JSON.stringify(row.token.orgCapabilities)),
      column((row) => JSON.stringify(row.token.viewCapabilities)),
      column((row) => row.secretDigest),
    ],
  );
}

const AUDIT_COLUMNS =
  'id, time, type, actor_token_id, actor_name, target_token_id, target_name, client_address, request_id, details, refusal_key';

const auditValues = (row: AuditEventRow) => [
  row.id,
  row.time,
  row.type,
  row.actor_token_id,
  row.actor_name,
  row.target_token_id,
  row.target_name,
  row.client_address,
  row.request_id,
  row.details,
  row.refusal_key,
];

/** Writes audit events within the caller's transaction, so that each exists if and only if its change does. */
async function insertEvents(
  client: pg.PoolClient,
  events: readonly (AuditEvent | undefined)[],
): Promise<void> {
  const rows = events.flatMap((event) => (event === undefined ? [] : [auditValues(auditRow(event))]));
  if (rows.length === 0) return;
  // One statement for a group commit's events, column by column, as insertRows does for its tokens.
  const column = (index: number) => rows.map((row) => row[index]);
  await client.query(
    `INSERT INTO audit_events (${AUDIT_COLUMNS})
     SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[],
                          $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])`,
    Array.from({ length: 11 }, (_, index) => column(index)),
  );
}

/** Whether a token expiring at `expiresAt` is live at `now`. */
const isLive = (expiresAt: Date | null, now: Date) => expiresAt === null || expiresAt > now;

/**
 * The issuer as locked at commit, not as it was when its request was authenticated: still live,
 * and expiring no sooner than the token it issues (`expiresAt`; null: never).
 */
function refuseIssuer(
  issuer: Issuer | undefined,
  found: { expires_at: Date | null } | undefined,
  expiresAt: Date | null,
): 'issuer_gone' | OutlivesIssuer | undefined {
  if (issuer === undefined) return undefined;
  if (found === undefined || !isLive(found.expires_at, issuer.now)) return 'issuer_gone';
  const issuerExpiresAt = found.expires_at;
  if (issuerExpiresAt !== null && (expiresAt === null || expiresAt > issuerExpiresAt))
    return { outlivesIssuer: issuerExpiresAt };
  return undefined;
}

export class PostgresTokenStore implements TokenStore {
  /** Other processes may serve from the same database: nothing here is cached in memory. */
  readonly multiProcess = true;
  readonly #pool: pg.Pool;
  readonly #retentionMs: number;
  readonly #auditRetentionMs: number;
  readonly #expiredRowsReadPerPage: number;
  readonly #backgroundPurge: BackgroundPurge | undefined;
  #pending: PendingInsert[] = [];
  /** Group commits in progress, which close() waits for. */
  readonly #committing = new Set<Promise<void>>();
  #closing = false;
  /** How many migrations opening applied: 0 when the schema was already up to date. */
  readonly migrationsApplied: number;

  /**
   * Connects to the database at `url` (postgres://…), retrying with backoff for `connectTimeoutMs`
   * while it cannot be reached, and migrates it. Fails at once when the database answers but
   * refuses (wrong password, no such database, a schema newer than this code).
   */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresTokenStore> {
    const {
      poolSize = DEFAULT_POOL_SIZE,
      connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS,
      acquireTimeoutMs = DEFAULT_ACQUIRE_TIMEOUT_MS,
      onBackgroundError = () => {},
    } = options;
    const pool = new pg.Pool({
      connectionString: url,
      max: poolSize,
      connectionTimeoutMillis: Math.min(acquireTimeoutMs, Math.max(connectTimeoutMs, 1)),
      keepAlive: true,
      application_name: 'api-tokens',
      // An acknowledged write is on disk, whatever the database's default says.
      options: '-c synchronous_commit=on',
    });
    // An idle connection that breaks (the database restarted) is dropped by the pool, which makes a
    // new one when next needed; unhandled, the error would end the process. A lost connection is an
    // outage (StoreUnavailableError, its cause attached), not failed work.
    pool.on('error', (err) => {
      const unavailable = toStoreError(err);
      onBackgroundError(
        unavailable instanceof StoreUnavailableError
          ? unavailable
          : new Error(`token store: an idle database connection failed: ${err.message}`, { cause: err }),
      );
    });
    const deadline = Date.now() + connectTimeoutMs;
    let delayMs = 100;
    for (;;) {
      try {
        const applied = await migratePostgres(pool);
        return new PostgresTokenStore(pool, options, applied);
      } catch (err) {
        const reason = unavailableReason(err);
        if (reason === undefined || isMissingDatabase(err) || Date.now() + delayMs > deadline) {
          await pool.end().catch(() => {});
          const cause = err instanceof Error ? err.message : String(err);
          if (reason === undefined || isMissingDatabase(err)) throw new Error(cause, { cause: err });
          throw new Error(
            `cannot reach PostgreSQL at ${describeDatabase(url)} within ${Math.round(connectTimeoutMs / 1000)} s (${cause})`,
            { cause: err },
          );
        }
        await sleep(delayMs);
        delayMs = Math.min(delayMs * 2, 2000);
      }
    }
  }

  private constructor(pool: pg.Pool, options: PostgresStoreOptions, migrationsApplied: number) {
    const {
      onBackgroundError = () => {},
      expiredTokenRetentionMs = DEFAULT_EXPIRED_TOKEN_RETENTION_MS,
      auditRetentionMs = DEFAULT_AUDIT_RETENTION_MS,
      purgeEveryMs = DEFAULT_PURGE_EVERY_MS,
      expiredRowsReadPerPage = DEFAULT_EXPIRED_ROWS_READ_PER_PAGE,
    } = options;
    this.#pool = pool;
    this.#auditRetentionMs = auditRetentionMs;
    this.migrationsApplied = migrationsApplied;
    this.#retentionMs = expiredTokenRetentionMs;
    this.#expiredRowsReadPerPage = expiredRowsReadPerPage;
    if (purgeEveryMs > 0) {
      this.#backgroundPurge = new BackgroundPurge(
        (now) => this.purgeExpired(now),
        purgeEveryMs,
        onBackgroundError,
      );
    }
  }

  /** The connection pool, for what else the replicas share through the database (rate-limit counters). */
  get pool(): pg.Pool {
    return this.#pool;
  }

  /** One statement on its own (autocommit), failures of the environment as StoreUnavailableError. */
  async #query<Row extends pg.QueryResultRow>(text: string, values: unknown[] = []) {
    try {
      return await this.#pool.query<Row>(text, values);
    } catch (err) {
      throw toStoreError(err);
    }
  }

  /**
   * Runs `work` in one transaction on one connection, retrying a deadlock or serialization failure.
   * A connection that failed is destroyed rather than returned to the pool. When the connection
   * breaks during COMMIT, PostgreSQL may or may not have committed: the caller hears "unavailable"
   * either way, which for an insert means at worst a token whose secret nobody ever received.
   */
  async #transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let checkedOut: Awaited<ReturnType<typeof checkOut>>;
      try {
        checkedOut = await checkOut(this.#pool);
      } catch (err) {
        throw toStoreError(err);
      }
      const { client, giveBack } = checkedOut;
      let begun = false;
      try {
        await client.query('BEGIN');
        begun = true;
        const result = await work(client);
        await client.query('COMMIT');
        giveBack(false);
        return result;
      } catch (err) {
        let broken = unavailableReason(err) !== undefined && !isRetryable(err);
        if (!broken) {
          await client.query('ROLLBACK').catch(() => {
            broken = true;
          });
        }
        giveBack(broken);
        // A pooled connection found broken at BEGIN (the database restarted while it sat idle)
        // did nothing yet: another connection may well work.
        const staleConnection = broken && !begun;
        if ((isRetryable(err) || staleConnection) && attempt < TRANSACTION_ATTEMPTS) continue;
        throw toStoreError(err);
      }
    }
  }

  /**
   * Group commit: inserts that arrive in the same turn of the event loop are written in one
   * transaction, so concurrent creates share one commit (and one turn at the position counter).
   * Each promise resolves only once its row is durably committed.
   */
  insert(
    token: TokenRecord,
    secretDigest: Buffer,
    issuer?: Issuer,
    event?: AuditEvent,
  ): Promise<InsertOutcome> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ token, secretDigest, issuer, event, resolve, reject });
      if (this.#pending.length === 1) setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    const committing = this.#commit(batch).finally(() => this.#committing.delete(committing));
    this.#committing.add(committing);
  }

  async #commit(batch: PendingInsert[]): Promise<void> {
    try {
      const outcomes = await this.#transaction((client) => this.#insertBatch(client, batch));
      for (const [index, pending] of batch.entries()) pending.resolve(outcomes[index] ?? 'inserted');
    } catch (err) {
      // The database failed: every row would fail the same way. Only a failure of the rows' own
      // (a duplicate id or digest) is split up, so one bad row does not fail its neighbours.
      if (batch.length === 1 || err instanceof StoreUnavailableError) {
        for (const pending of batch) pending.reject(err);
        return;
      }
      await Promise.all(batch.map((pending) => this.#commit([pending])));
    }
  }

  async #insertBatch(client: pg.PoolClient, batch: PendingInsert[]): Promise<InsertOutcome[]> {
    const issuerIds = [...new Set(batch.flatMap((pending) => (pending.issuer ? [pending.issuer.id] : [])))];
    const issuers = new Map<string, { expires_at: Date | null }>();
    if (issuerIds.length > 0) {
      // FOR SHARE: a delete or regenerate of an issuer waits until this commits, and vice versa, so
      // an issuer is live at commit. Locked in id order, as regenerate locks, so neither deadlocks.
      const found = await client.query<{ id: string; expires_at: Date | null }>(
        'SELECT id, expires_at FROM tokens WHERE id = ANY($1::text[]) ORDER BY id FOR SHARE',
        [issuerIds],
      );
      for (const row of found.rows) issuers.set(row.id, row);
    }
    const outcomes = batch.map(
      (pending): InsertOutcome =>
        refuseIssuer(
          pending.issuer,
          pending.issuer && issuers.get(pending.issuer.id),
          pending.token.expiresAt,
        ) ?? 'inserted',
    );
    const accepted = batch.filter((_, index) => outcomes[index] === 'inserted');
    if (accepted.length > 0) {
      await insertEvents(
        client,
        accepted.map((pending) => pending.event),
      );
      await insertRows(client, accepted);
    }
    return outcomes;
  }

  /**
   * Once per database: the `bootstrapped` fact is inserted first, and a replica starting at the same
   * moment waits on that key until this transaction ends, then finds it there.
   */
  insertFirst(token: TokenRecord, secretDigest: Buffer, event?: AuditEvent): Promise<boolean> {
    return this.#transaction(async (client) => {
      const marked = await client.query(
        `INSERT INTO meta (key, value) VALUES ('bootstrapped', $1)
         ON CONFLICT (key) DO NOTHING RETURNING key`,
        [new Date().toISOString()],
      );
      if (marked.rowCount === 0) return false;
      // Tokens stored without a bootstrap (by a tool, say) count as having had tokens.
      const existing = await client.query('SELECT 1 FROM tokens LIMIT 1');
      if (existing.rowCount !== 0) return false;
      await insertEvents(client, [event]);
      await insertRows(client, [{ token, secretDigest }]);
      return true;
    });
  }

  async findByDigest(secretDigest: Buffer): Promise<TokenRecord | undefined> {
    const found = await this.#query<TokenRow>(`SELECT ${COLUMNS} FROM tokens WHERE secret_digest = $1`, [
      secretDigest,
    ]);
    const row = found.rows[0];
    return row === undefined ? undefined : toRecord(row);
  }

  async findById(id: string, now: Date): Promise<TokenRecord | undefined> {
    const found = await this.#query<TokenRow>(
      `SELECT ${COLUMNS} FROM tokens WHERE id = $1 AND (expires_at IS NULL OR expires_at > $2)`,
      [id, now],
    );
    const row = found.rows[0];
    return row === undefined ? undefined : toRecord(row);
  }

  /**
   * One statement, so one snapshot: the live rows among the next `scan` rows after `after` (one
   * more than asked for tells whether another page follows) and, marked `next`, the first row past
   * the scan, from which the next page starts when this one stopped short.
   */
  async list({ now, limit, after }: { now: Date; limit: number; after?: ListPosition }): Promise<ListPage> {
    const scan = limit + 1 + this.#expiredRowsReadPerPage;
    const found = await this.#query<TokenRow & { following: boolean }>(
      `(SELECT false AS following, ${COLUMNS}
          FROM (SELECT ${COLUMNS} FROM tokens WHERE position > $1 ORDER BY position LIMIT $3) AS scanned
         WHERE expires_at IS NULL OR expires_at > $2
         ORDER BY position LIMIT $4)
       UNION ALL
       (SELECT true, position, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
          FROM tokens WHERE position > $1 ORDER BY position OFFSET $3 LIMIT 1)`,
      [after ?? 0, now, scan, limit + 1],
    );
    const rows = found.rows.filter((row) => !row.following);
    const tokens = rows
      .slice(0, limit)
      .map((row) => ({ token: toRecord(row), position: Number(row.position) }));
    if (rows.length > limit) return { tokens, next: tokens.at(-1)?.position };
    // Every live row read is in the page; if the read stopped short of the end, carry on after it.
    const following = found.rows.find((row) => row.following);
    return { tokens, next: following === undefined ? undefined : Number(following.position) - 1 };
  }

  async delete(id: string, now: Date, event?: AuditEvent): Promise<boolean> {
    const statement = 'DELETE FROM tokens WHERE id = $1 AND (expires_at IS NULL OR expires_at > $2)';
    if (event === undefined) return ((await this.#query(statement, [id, now])).rowCount ?? 0) > 0;
    return this.#transaction(async (client) => {
      const deleted = ((await client.query(statement, [id, now])).rowCount ?? 0) > 0;
      if (deleted) await insertEvents(client, [event]);
      return deleted;
    });
  }

  /**
   * Each event inserted, or, when its address and minute already have one (refusal_key), its count
   * added to that one's: concurrent replicas merge into one row, the unique key deciding.
   */
  async recordRefusals(events: readonly AuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.#transaction(async (client) => {
      for (const event of events) {
        await client.query(
          `INSERT INTO audit_events (${AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (refusal_key) DO UPDATE SET details = jsonb_set(
             audit_events.details::jsonb, '{count}',
             to_jsonb(coalesce((audit_events.details::jsonb ->> 'count')::bigint, 0)
                      + coalesce((EXCLUDED.details::jsonb ->> 'count')::bigint, 0)))::text`,
          auditValues(auditRow(event, refusalKey(event))),
        );
      }
    });
  }

  /**
   * Newest first by seq, `after` being the last seq of the previous page. (A bigserial: an event
   * committing late behind a walk in progress may be missed by that walk; the trail is for reading,
   * and a new walk sees it.)
   */
  async listAuditEvents(query: AuditQuery): Promise<AuditPage> {
    const found = await this.#query<AuditEventRow & { seq: string }>(
      `SELECT seq, ${AUDIT_COLUMNS} FROM audit_events
       WHERE ($1::bigint IS NULL OR seq < $1)
         AND ($2::text IS NULL OR type = $2)
         AND ($3::text IS NULL OR actor_token_id = $3 OR target_token_id = $3)
         AND ($4::bigint IS NULL OR time >= $4)
         AND ($5::bigint IS NULL OR time < $5)
       ORDER BY seq DESC LIMIT $6`,
      [
        query.after ?? null,
        query.type ?? null,
        query.tokenId ?? null,
        query.since?.getTime() ?? null,
        query.until?.getTime() ?? null,
        query.limit + 1,
      ],
    );
    const rows = found.rows.slice(0, query.limit);
    const last = rows.at(-1);
    return {
      events: rows.map(toAuditEvent),
      next: found.rows.length > query.limit && last !== undefined ? Number(last.seq) : undefined,
    };
  }

  /**
   * The token and the issuer are locked together, FOR UPDATE and in id order: a second regenerate
   * of the same token, from this process or another, waits for this one to commit and then finds it
   * already regenerated; and two regenerates locking the same two rows cannot deadlock.
   */
  regenerate(request: RegenerateRequest): Promise<RegenerateOutcome> {
    return this.#transaction(async (client): Promise<RegenerateOutcome> => {
      const locked = await client.query<{ id: string; expires_at: Date | null; replaced_by: string | null }>(
        'SELECT id, expires_at, replaced_by FROM tokens WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE',
        [[request.id, request.issuer.id]],
      );
      const row = (id: string) => locked.rows.find((found) => found.id === id);
      // Before the token is cut: a caller regenerating itself is judged by its expiry before the cut.
      const refused = refuseIssuer(request.issuer, row(request.issuer.id), request.replacement.expiresAt);
      if (refused !== undefined) return refused;
      const target = row(request.id);
      if (target === undefined || !isLive(target.expires_at, request.now)) return 'not_found';
      if (target.replaced_by !== null) return 'already_regenerated';
      await client.query(
        `UPDATE tokens
         SET expires_at = CASE WHEN expires_at IS NULL OR expires_at > $2 THEN $2 ELSE expires_at END,
             replaced_by = $3
         WHERE id = $1`,
        [request.id, request.existingTokenExpiresAt, request.replacement.id],
      );
      await insertEvents(client, [request.event]);
      await insertRows(client, [
        { token: request.replacement, secretDigest: request.replacementSecretDigest },
      ]);
      return 'regenerated';
    });
  }

  /**
   * One statement: the rows to change are locked in id order first (as regenerate and insert lock
   * theirs), so that recording uses never deadlocks with them, then updated where the recorded use
   * is at least `minIntervalMs` older, a condition checked again on the locked, latest row.
   */
  async recordUses(uses: readonly TokenUse[], minIntervalMs: number): Promise<void> {
    const latest = new Map<string, Date>();
    for (const use of uses) {
      const known = latest.get(use.id);
      if (known === undefined || use.at > known) latest.set(use.id, use.at);
    }
    if (latest.size === 0) return;
    await this.#transaction((client) =>
      client.query(
        `WITH uses AS (SELECT * FROM unnest($1::text[], $2::timestamptz[]) AS u(id, at)),
              locked AS (SELECT t.id FROM tokens t JOIN uses u ON t.id = u.id ORDER BY t.id FOR UPDATE OF t)
         UPDATE tokens t SET last_used_at = u.at
         FROM uses u, locked l
         WHERE t.id = u.id AND t.id = l.id
           AND (t.last_used_at IS NULL OR t.last_used_at <= u.at - $3 * interval '1 millisecond')`,
        [[...latest.keys()], [...latest.values()], minIntervalMs],
      ),
    );
  }

  /**
   * Deletes tokens expired for longer than the retention period, PURGE_BATCH_SIZE rows per
   * statement. Rows another transaction holds (a replica purging too, a regenerate) are skipped,
   * not waited for. Stops early when the store closes.
   */
  async purgeExpired(now: Date): Promise<number> {
    const purged = await this.#purgeInBatches(
      `DELETE FROM tokens WHERE id IN
         (SELECT id FROM tokens WHERE expires_at IS NOT NULL AND expires_at < $1
          LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      new Date(now.getTime() - this.#retentionMs),
    );
    await this.#purgeInBatches(
      `DELETE FROM audit_events WHERE seq IN
         (SELECT seq FROM audit_events WHERE time < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      now.getTime() - this.#auditRetentionMs,
    );
    return purged;
  }

  async #purgeInBatches(statement: string, cutoff: unknown): Promise<number> {
    let purged = 0;
    while (!this.#closing) {
      const deleted = (await this.#query(statement, [cutoff, PURGE_BATCH_SIZE])).rowCount ?? 0;
      purged += deleted;
      if (deleted < PURGE_BATCH_SIZE) break;
    }
    return purged;
  }

  async count(): Promise<number> {
    const counted = await this.#query<{ count: number }>('SELECT count(*)::integer AS count FROM tokens');
    return counted.rows[0]?.count ?? 0;
  }

  async ping(): Promise<void> {
    await this.#query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    await this.#backgroundPurge?.stop();
    this.#flush();
    await Promise.all(this.#committing);
    await this.#pool.end();
  }
}
