// The PostgreSQL TokenStore: a pg connection pool, plain SQL, safe for any number of server processes on one database.
import pg from 'pg';
import { type AuditEventRow, auditRow } from './auditRows.js';
import {
  type AuditFilter,
  BaseTokenStore,
  expiredBefore,
  lastUseDue,
  liveAt,
  type PendingInsert,
  type PositionedRow,
  PURGE_BATCH_SIZE,
  type SequencedAuditRow,
  type SqlStoreOptions,
  TOKEN_COLUMNS,
  type TokenRow,
  type TokenScan,
  toRecord,
} from './base.js';
import {
  deliveryPage,
  inIdOrder,
  noticeValues,
  OUTBOX_COLUMNS,
  type OutboxRow,
  outboxValues,
  toDelivery,
} from './outboxRows.js';
import { isMissingDatabase, toStoreError, unavailableReason } from './postgresErrors.js';
import { postgresMigrations } from './postgresMigrations.js';
import {
  type AuditEvent,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_POOL_SIZE,
  type Delivery,
  type DeliveryClaim,
  type DeliveryOutcome,
  type DeliveryPage,
  type DeliveryPosition,
  type ExpiryNotice,
  type LockedWrite,
  type MergingEvent,
  type NoticeQuery,
  type OnceWrite,
  type OutboxMessage,
  type Revocation,
  type RevocationListener,
  StoreUnavailableError,
  type TokenRecord,
  type TokenStore,
  type TokenUse,
  type Writes,
} from './store.js';

export interface PostgresStoreOptions extends SqlStoreOptions {
  /** Connections in the pool (DATABASE_POOL_SIZE). */
  poolSize?: number;
  /**
   * How long opening keeps trying to reach the database (DATABASE_CONNECT_TIMEOUT), retrying with
   * backoff: replicas and the database are often started together.
   */
  connectTimeoutMs?: number;
  /** How long a request waits for a connection (pooled or new) before it answers unavailable. */
  acquireTimeoutMs?: number;
}

const DEFAULT_ACQUIRE_TIMEOUT_MS = 5000;
/** The advisory lock migrations run under, per database: an arbitrary constant of this service's. */
const MIGRATION_LOCK_KEY = '5710170513';
/** Deadlocks and serialization failures are retried this many times before the store gives up. */
const TRANSACTION_ATTEMPTS = 3;

/** What reads count as live (see base.ts), `now` being $2. */
const LIVE = liveAt('$2');

/**
 * The advisory locks of OnceWrite take this as their first key and a hash of the fact as their
 * second (a key space apart from the migrations' one-key lock): an arbitrary constant of this service's.
 */
const FACT_LOCK_SPACE = 571017;

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

/**
 * A statement of the hot path (every request's lookup, every group commit), prepared once per
 * connection under `name`: PostgreSQL then parses and plans it once rather than on each call, and
 * the client sends only its values. Each name must always go with the same text.
 */
const prepared = (name: string, text: string, values: unknown[]): pg.QueryConfig => ({ name, text, values });

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

/**
 * Inserts rows at the end of the listing order, within the caller's transaction: each takes the
 * next position of the identity column, in the batch's order. No lock orders inserting
 * transactions, so a lower position may commit after a higher one: a walk that has passed it then
 * misses that token, which was created during the walk and may or may not appear; a token that
 * existed when the walk began has its position already and is passed exactly once.
 */
async function insertRows(
  client: pg.PoolClient,
  rows: readonly Pick<PendingInsert, 'token' | 'secretDigest'>[],
): Promise<void> {
  const column = <T>(pick: (row: Pick<PendingInsert, 'token' | 'secretDigest'>) => T) => rows.map(pick);
  await client.query(
    prepared(
      'insert-tokens',
      `INSERT INTO tokens (id, name, description, expires_at, created_at,
                         dataset_capabilities, org_capabilities, view_capabilities, secret_digest,
                         allowed_cidrs, not_before)
     SELECT t.id, t.name, t.description, t.expires_at, t.created_at,
            t.dataset_capabilities, t.org_capabilities, t.view_capabilities, t.secret_digest,
            t.allowed_cidrs, t.not_before
     FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[],
                 $6::json[], $7::json[], $8::json[], $9::bytea[], $10::json[], $11::timestamptz[])
            WITH ORDINALITY AS t(id, name, description, expires_at, created_at,
                                 dataset_capabilities, org_capabilities, view_capabilities, secret_digest,
                                 allowed_cidrs, not_before, ordinal)
     ORDER BY t.ordinal`,
      [
        column((row) => row.token.id),
        column((row) => row.token.name),
        column((row) => row.token.description),
        column((row) => row.token.expiresAt),
        column((row) => row.token.createdAt),
        column((row) => JSON.stringify(row.token.datasetCapabilities)),
        column((row) => JSON.stringify(row.token.orgCapabilities)),
        column((row) => JSON.stringify(row.token.viewCapabilities)),
        column((row) => row.secretDigest),
        column((row) => JSON.stringify(row.token.allowedCidrs)),
        column((row) => row.token.notBefore),
      ],
    ),
  );
}

/** The NOTIFY channel revocations are published on, and the LISTEN connection's application_name. */
export const REVOCATION_CHANNEL = 'api_tokens_revocations';
export const LISTENER_APPLICATION_NAME = 'api-tokens-listen';
/**
 * Digests per NOTIFY: a payload must stay under 8000 bytes, and each digest takes 46 (43 characters
 * of base64url, quotes and a comma) after about 80 of id and time.
 */
const DIGESTS_PER_NOTIFY = 150;

/**
 * Publishes the secret digests of the tokens `ids` names (locked by the caller's transaction) on
 * REVOCATION_CHANNEL, delivered to every listener if and only if the transaction commits. Each
 * NOTIFY takes the next number of the revocation_events sequence as its id, so that every replica
 * names it alike. Digests only: a secret is never stored, let alone sent.
 */
async function notifyRevoked(client: pg.PoolClient, ids: readonly string[]): Promise<void> {
  const found = await client.query<{ secret_digest: Buffer }>(
    'SELECT secret_digest FROM tokens WHERE id = ANY($1::text[]) ORDER BY id',
    [[...new Set(ids)]],
  );
  const digests = found.rows.map((row) => row.secret_digest.toString('base64url'));
  const at = new Date().toISOString();
  for (let start = 0; start < digests.length; start += DIGESTS_PER_NOTIFY) {
    await client.query(
      `SELECT pg_notify($1, json_build_object('id', nextval('revocation_events')::text, 'at', $2::text, 'digests', $3::text[])::text)`,
      [REVOCATION_CHANNEL, at, digests.slice(start, start + DIGESTS_PER_NOTIFY)],
    );
  }
}

/** A NOTIFY payload as notifyRevoked writes it; undefined when it is not one. */
function parseRevocation(payload: string | undefined): Revocation | undefined {
  try {
    const { id, at, digests } = JSON.parse(payload ?? '') as {
      id?: unknown;
      at?: unknown;
      digests?: unknown;
    };
    if (typeof id !== 'string' || typeof at !== 'string' || !Array.isArray(digests)) return undefined;
    return {
      id,
      at: new Date(at),
      digests: digests.map((digest) => Buffer.from(String(digest), 'base64url')),
    };
  } catch {
    return undefined;
  }
}

/** A NULL for each of TOKEN_COLUMNS: the listing's marker row carries only its position. */
const NULL_TOKEN_COLUMNS = TOKEN_COLUMNS.split(',')
  .map(() => 'NULL')
  .join(', ');

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

/** Writes webhook messages to the outbox within the caller's transaction, one statement for all. */
async function insertOutbox(client: pg.PoolClient, messages: readonly OutboxMessage[]): Promise<void> {
  if (messages.length === 0) return;
  const values = messages.map(outboxValues);
  await client.query(
    `INSERT INTO webhook_outbox (webhook_id, event_id, type, url, body, created_at, next_attempt_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[])`,
    [
      values.map((value) => value.webhookId),
      values.map((value) => value.eventId),
      values.map((value) => value.type),
      values.map((value) => value.url),
      values.map((value) => value.body),
      values.map((value) => value.createdAt),
      values.map((value) => value.nextAttemptAt),
    ],
  );
}

/**
 * Writes audit events within the caller's transaction, so that each exists if and only if its
 * change does, and each event's webhook messages (`outbox`) with them.
 */
async function insertEvents(
  client: pg.PoolClient,
  events: readonly (AuditEvent | undefined)[],
  outbox: (event: AuditEvent) => readonly OutboxMessage[],
): Promise<void> {
  const written = events.filter((event) => event !== undefined);
  await insertOutbox(client, written.flatMap(outbox));
  const rows = written.map((event) => auditValues(auditRow(event)));
  if (rows.length === 0) return;
  // One statement for a group commit's events, column by column, as insertRows does for its tokens.
  const column = (index: number) => rows.map((row) => row[index]);
  await client.query(
    prepared(
      'insert-audit-events',
      `INSERT INTO audit_events (${AUDIT_COLUMNS})
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[],
                            $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])`,
      Array.from({ length: 11 }, (_, index) => column(index)),
    ),
  );
}

/** Writes what a rule decided, within the caller's transaction. */
async function applyWrites(
  client: pg.PoolClient,
  writes: Writes,
  outbox: (event: AuditEvent) => readonly OutboxMessage[],
): Promise<void> {
  // Before the writes, which may delete the rows; heard by every replica when this commits.
  if (writes.revoke !== undefined && writes.revoke.length > 0) await notifyRevoked(client, writes.revoke);
  if (writes.replace !== undefined) {
    const { id, expiresAt, replacedBy } = writes.replace;
    await client.query('UPDATE tokens SET expires_at = $2, replaced_by = $3 WHERE id = $1', [
      id,
      expiresAt,
      replacedBy,
    ]);
  }
  if (writes.delete !== undefined) {
    // The token's expiry notices go with it, as the purge takes them with an expired one.
    await client.query(
      `WITH notices AS (DELETE FROM webhook_expiry_notices WHERE token_id = $1)
       DELETE FROM tokens WHERE id = $1`,
      [writes.delete],
    );
  }
  if (writes.mark !== undefined) {
    await client.query('INSERT INTO meta (key, value) VALUES ($1, $2)', [
      writes.mark.fact,
      writes.mark.at.toISOString(),
    ]);
  }
  if (writes.event !== undefined) await insertEvents(client, [writes.event], outbox);
  if (writes.insert !== undefined) await insertRows(client, [writes.insert]);
}

/** Advisory lock keys of work one replica at a time runs (runAlone), per name: arbitrary constants of this service's. */
const ALONE_LOCK_KEYS: Record<string, string> = { 'webhook-expiry-scan': '5710170514' };

export class PostgresTokenStore extends BaseTokenStore implements TokenStore {
  readonly #pool: pg.Pool;
  readonly #outbox: (event: AuditEvent) => readonly OutboxMessage[];
  readonly #url: string;
  readonly #connectTimeoutMs: number;
  /** Who hears revocations, through one LISTEN connection of its own, opened when the first listens. */
  readonly #listeners = new Set<RevocationListener>();
  #listenConnection: pg.Client | undefined;
  #listening = false;
  #closing = false;
  #reconnectTimer: NodeJS.Timeout | undefined;
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
        return new PostgresTokenStore(pool, url, options, applied);
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

  private constructor(pool: pg.Pool, url: string, options: PostgresStoreOptions, migrationsApplied: number) {
    super(options);
    this.#pool = pool;
    this.#url = url;
    this.#connectTimeoutMs = Math.min(
      options.acquireTimeoutMs ?? DEFAULT_ACQUIRE_TIMEOUT_MS,
      Math.max(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, 1),
    );
    this.#outbox = options.outbox ?? (() => []);
    this.migrationsApplied = migrationsApplied;
    this.startBackgroundPurge();
  }

  /** The connection pool, for what else the replicas share through the database (rate-limit counters). */
  get pool(): pg.Pool {
    return this.#pool;
  }

  /**
   * A failure as the store reports it. A database refusing new connections as it shuts down
   * (57P03: a smart shutdown waits for every session to end) also ends the LISTEN connection, so
   * that the shutdown can complete; the listeners hear of the loss, and listening resumes once the
   * database takes connections again.
   */
  #failed(err: unknown): unknown {
    if ((err as { code?: unknown } | null)?.code === '57P03') this.#listenConnection?.end().catch(() => {});
    return toStoreError(err);
  }

  /** One statement on its own (autocommit), failures of the environment as StoreUnavailableError. */
  async #query<Row extends pg.QueryResultRow>(text: string | pg.QueryConfig, values: unknown[] = []) {
    try {
      return await (typeof text === 'string'
        ? this.#pool.query<Row>(text, values)
        : this.#pool.query<Row>(text));
    } catch (err) {
      throw this.#failed(err);
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
        throw this.#failed(err);
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
        throw this.#failed(err);
      }
    }
  }

  protected commitInserts(batch: readonly PendingInsert[]): Promise<unknown[]> {
    return this.#transaction((client) => this.#insertBatch(client, batch));
  }

  async #insertBatch(client: pg.PoolClient, batch: readonly PendingInsert[]): Promise<unknown[]> {
    const lockIds = [...new Set(batch.flatMap((pending) => (pending.check ? [pending.check.lock] : [])))];
    const locked = new Map<string, TokenRecord>();
    if (lockIds.length > 0) {
      // FOR SHARE: a delete or regenerate of an issuer waits until this commits, and vice versa, so
      // the check holds at commit. Locked in id order, as every write locks, so none deadlocks.
      const found = await client.query<TokenRow>(
        prepared(
          'lock-issuers',
          `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE id = ANY($1::text[]) ORDER BY id FOR SHARE`,
          [lockIds],
        ),
      );
      for (const row of found.rows) locked.set(row.id, toRecord(row));
    }
    const outcomes = batch.map(
      ({ check, token }): unknown => check?.refuse(locked.get(check.lock), token) ?? 'inserted',
    );
    const accepted = batch.filter((_, index) => outcomes[index] === 'inserted');
    if (accepted.length > 0) {
      await insertEvents(
        client,
        accepted.map((pending) => pending.event),
        this.#outbox,
      );
      await insertRows(client, accepted);
    }
    return outcomes;
  }

  async findByDigest(secretDigest: Buffer): Promise<TokenRecord | undefined> {
    const found = await this.#query<TokenRow>(
      prepared('find-by-digest', `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE secret_digest = $1`, [
        secretDigest,
      ]),
    );
    const row = found.rows[0];
    return row === undefined ? undefined : toRecord(row);
  }

  async findById(id: string, now: Date): Promise<TokenRecord | undefined> {
    const found = await this.#query<TokenRow>(
      prepared('find-by-id', `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE id = $1 AND ${LIVE}`, [id, now]),
    );
    const row = found.rows[0];
    return row === undefined ? undefined : toRecord(row);
  }

  /**
   * One statement, so one snapshot: the live rows among the next `scan` rows after `after` (one
   * more than asked for tells whether another page follows) and, marked `following`, the first row
   * past the scan, from which the next page starts when this one stopped short.
   */
  protected async scanTokens({ now, after, scan, limit }: TokenScan) {
    const found = await this.#query<PositionedRow & { following: boolean }>(
      `(SELECT false AS following, position, ${TOKEN_COLUMNS}
          FROM (SELECT position, ${TOKEN_COLUMNS} FROM tokens WHERE position > $1 ORDER BY position LIMIT $3) AS scanned
         WHERE ${LIVE}
         ORDER BY position LIMIT $4)
       UNION ALL
       (SELECT true, position, ${NULL_TOKEN_COLUMNS}
          FROM tokens WHERE position > $1 ORDER BY position OFFSET $3 LIMIT 1)`,
      [after, now, scan, limit],
    );
    return {
      rows: found.rows.filter((row) => !row.following),
      following: found.rows.find((row) => row.following)?.position,
    };
  }

  /**
   * The rows the rule reads are locked FOR UPDATE, in id order: a second write to the same token,
   * from this process or another, waits for this one to commit and then reads what it wrote; and
   * two writes locking the same rows cannot deadlock.
   */
  write<Outcome>(change: LockedWrite<Outcome>): Promise<Outcome> {
    return this.#transaction(async (client) => {
      const found = await client.query<TokenRow>(
        `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`,
        [[...new Set(change.lock)]],
      );
      const { outcome, writes } = change.decide(new Map(found.rows.map((row) => [row.id, toRecord(row)])));
      if (writes !== undefined) await applyWrites(client, writes, this.#outbox);
      return outcome;
    });
  }

  /**
   * Under a transaction-scoped advisory lock on the fact, which every other OnceWrite of it waits
   * for, in any replica; the history is read after the lock is granted, so a write that waited
   * sees what the one before it committed.
   */
  writeOnce<Outcome>(change: OnceWrite<Outcome>): Promise<Outcome> {
    return this.#transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [FACT_LOCK_SPACE, change.fact]);
      const found = await client.query<{ marked: boolean; has_tokens: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM meta WHERE key = $1) AS marked, EXISTS (SELECT 1 FROM tokens) AS has_tokens`,
        [change.fact],
      );
      const history = found.rows[0];
      const { outcome, writes } = change.decide({
        marked: history?.marked === true,
        hasTokens: history?.has_tokens === true,
      });
      if (writes !== undefined) await applyWrites(client, writes, this.#outbox);
      return outcome;
    });
  }

  /**
   * Each event inserted, or, when one with its merge key (refusal_key) exists, its count added to
   * that one's: concurrent replicas merge into one row, the unique key deciding.
   */
  async recordRefusals(refusals: readonly MergingEvent[]): Promise<void> {
    if (refusals.length === 0) return;
    await this.#transaction(async (client) => {
      for (const { event, mergeKey } of refusals) {
        await client.query(
          `INSERT INTO audit_events (${AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (refusal_key) DO UPDATE SET details = jsonb_set(
             audit_events.details::jsonb, '{count}',
             to_jsonb(coalesce((audit_events.details::jsonb ->> 'count')::bigint, 0)
                      + coalesce((EXCLUDED.details::jsonb ->> 'count')::bigint, 0)))::text`,
          auditValues(auditRow(event, mergeKey)),
        );
      }
    });
  }

  /**
   * Newest first by seq, `after` being the last seq of the previous page. (A bigserial: an event
   * committing late behind a walk in progress may be missed by that walk; the trail is for reading,
   * and a new walk sees it.)
   */
  protected async auditRows(filter: AuditFilter): Promise<SequencedAuditRow[]> {
    const found = await this.#query<AuditEventRow & { seq: string }>(
      `SELECT seq, ${AUDIT_COLUMNS} FROM audit_events
       WHERE ($1::bigint IS NULL OR seq < $1)
         AND ($2::text IS NULL OR type = $2)
         AND ($3::text IS NULL OR actor_token_id = $3 OR target_token_id = $3)
         AND ($4::bigint IS NULL OR time >= $4)
         AND ($5::bigint IS NULL OR time < $5)
       ORDER BY seq DESC LIMIT $6`,
      [filter.after, filter.type, filter.tokenId, filter.since, filter.until, filter.limit],
    );
    return found.rows;
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
           AND ${lastUseDue('u.at', "$3 * interval '1 millisecond'")}`,
        [[...latest.keys()], [...latest.values()], minIntervalMs],
      ),
    );
  }

  /** Rows another transaction holds (a replica purging too, a regenerate) are skipped, not waited for. */
  protected async purgeTokenBatch(cutoff: Date): Promise<number> {
    // A purged token's expiry notices go with it, in the same statement.
    const deleted = await this.#query<{ purged: number }>(
      `WITH purged AS (
         DELETE FROM tokens WHERE id IN
           (SELECT id FROM tokens WHERE ${expiredBefore('$1')}
            LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING id),
       notices AS (DELETE FROM webhook_expiry_notices WHERE token_id IN (SELECT id FROM purged))
       SELECT count(*)::integer AS purged FROM purged`,
      [cutoff, PURGE_BATCH_SIZE],
    );
    return deleted.rows[0]?.purged ?? 0;
  }

  protected async purgeAuditBatch(cutoff: Date): Promise<number> {
    // Finished webhook deliveries go with the audit events they delivered.
    await this.#query(
      `DELETE FROM webhook_outbox WHERE seq IN
         (SELECT seq FROM webhook_outbox WHERE status <> 'pending' AND created_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [cutoff.getTime(), PURGE_BATCH_SIZE],
    );
    const deleted = await this.#query(
      `DELETE FROM audit_events WHERE seq IN
         (SELECT seq FROM audit_events WHERE time < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [cutoff.getTime(), PURGE_BATCH_SIZE],
    );
    return deleted.rowCount ?? 0;
  }

  async count(): Promise<number> {
    const counted = await this.#query<{ count: number }>('SELECT count(*)::integer AS count FROM tokens');
    return counted.rows[0]?.count ?? 0;
  }

  async ping(): Promise<void> {
    await this.#query('SELECT 1');
  }

  /**
   * One dedicated connection LISTENs for every listener of this store. When it is lost, each
   * listener is told (`lost`) and the store reconnects, retrying with backoff up to 2 s, telling
   * `listening` once it listens again.
   */
  listenForRevocations(listener: RevocationListener): () => void {
    this.#listeners.add(listener);
    if (this.#listening) listener.listening();
    else if (this.#listenConnection === undefined && this.#reconnectTimer === undefined)
      void this.#listen(100);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  async #listen(delayMs: number): Promise<void> {
    this.#reconnectTimer = undefined;
    if (this.#closing) return;
    const client = new pg.Client({
      connectionString: this.#url,
      keepAlive: true,
      application_name: LISTENER_APPLICATION_NAME,
      connectionTimeoutMillis: this.#connectTimeoutMs,
    });
    this.#listenConnection = client;
    let ended = false;
    const onLost = (err: Error) => {
      if (ended) return;
      ended = true;
      client.end().catch(() => {});
      if (this.#listenConnection === client) this.#listenConnection = undefined;
      const wasListening = this.#listening;
      this.#listening = false;
      if (wasListening) for (const listener of this.#listeners) listener.lost(err);
      if (this.#closing) return;
      // At once after a loss (the database may just have ended this session), then backing off.
      const wait = wasListening ? 0 : delayMs;
      this.#reconnectTimer = setTimeout(
        () => void this.#listen(wasListening ? 100 : Math.min(delayMs * 2, 2000)),
        wait,
      );
      this.#reconnectTimer.unref();
    };
    client.on('error', onLost);
    client.on('end', () => onLost(new StoreUnavailableError('the LISTEN connection ended')));
    client.on('notification', (message) => {
      if (message.channel !== REVOCATION_CHANNEL) return;
      const revocation = parseRevocation(message.payload);
      // A payload not understood may have named a revocation: as good as a lost feed.
      if (revocation === undefined) onLost(new Error('a revocation NOTIFY whose payload could not be read'));
      else for (const listener of this.#listeners) listener.revoked(revocation);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${REVOCATION_CHANNEL}`);
    } catch (err) {
      onLost(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (ended || this.#closing) return;
    this.#listening = true;
    for (const listener of this.#listeners) listener.listening();
  }

  /**
   * One statement: due rows nobody holds a live lease on, locked FOR UPDATE SKIP LOCKED so that
   * replicas claiming at the same moment take different rows instead of queueing, then leased.
   */
  async claimDeliveries(claim: DeliveryClaim): Promise<Delivery[]> {
    // Due rows to a URL recorded gone are marked gone instead, in the same statement: the two sets
    // are disjoint (one snapshot), so no row is updated twice.
    const found = await this.#query<OutboxRow>(
      `WITH stopped AS (
         UPDATE webhook_outbox SET status = 'gone', next_attempt_at = NULL
          WHERE seq IN (SELECT o.seq FROM webhook_outbox o JOIN webhook_gone_urls g ON g.url = o.url
                         WHERE o.status = 'pending' AND o.next_attempt_at <= $1
                           AND (o.lease_until IS NULL OR o.lease_until <= $1)
                         FOR UPDATE OF o SKIP LOCKED))
       UPDATE webhook_outbox
          SET attempts = attempts + 1, last_attempt_at = $1, lease_owner = $3, lease_until = $4
        WHERE seq IN (SELECT seq FROM webhook_outbox o
                       WHERE status = 'pending' AND next_attempt_at <= $1
                         AND (lease_until IS NULL OR lease_until <= $1)
                         AND NOT EXISTS (SELECT 1 FROM webhook_gone_urls g WHERE g.url = o.url)
                       ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED)
        RETURNING ${OUTBOX_COLUMNS}`,
      [claim.now.getTime(), claim.limit, claim.owner, claim.leaseUntil.getTime()],
    );
    return found.rows.map(toDelivery).sort((a, b) => a.position - b.position);
  }

  async recordDelivery(
    position: DeliveryPosition,
    owner: string,
    outcome: DeliveryOutcome,
  ): Promise<boolean> {
    const record = `UPDATE webhook_outbox
          SET status = $3, next_attempt_at = $4, last_status = $5, last_error = $6,
              lease_owner = NULL, lease_until = NULL
        WHERE seq = $1 AND lease_owner = $2
        RETURNING url`;
    const values = [
      position,
      owner,
      outcome.status,
      outcome.nextAttemptAt?.getTime() ?? null,
      outcome.lastStatus,
      outcome.lastError,
    ];
    if (outcome.stopsUrl !== true) {
      const updated = await this.#query(record, values);
      return (updated.rowCount ?? 0) > 0;
    }
    return this.#transaction(async (client) => {
      const updated = await client.query<{ url: string }>(record, values);
      const url = updated.rows[0]?.url;
      if (url === undefined) return false;
      await client.query(
        `INSERT INTO webhook_gone_urls (url, gone_at)
         VALUES ($1, (extract(epoch FROM clock_timestamp()) * 1000)::bigint) ON CONFLICT DO NOTHING`,
        [url],
      );
      // Rows another transaction holds (a claim, another 410's record) are skipped, not waited for,
      // so two records of 410s to one URL never deadlock: the claim marks whatever is left.
      await client.query(
        `UPDATE webhook_outbox SET status = 'gone', next_attempt_at = NULL, lease_owner = NULL, lease_until = NULL
          WHERE seq IN (SELECT seq FROM webhook_outbox WHERE url = $1 AND status = 'pending'
                         FOR UPDATE SKIP LOCKED)`,
        [url],
      );
      return true;
    });
  }

  async listDeliveries({ limit, after }: { limit: number; after?: DeliveryPosition }): Promise<DeliveryPage> {
    const found = await this.#query<OutboxRow>(
      `SELECT ${OUTBOX_COLUMNS} FROM webhook_outbox WHERE ($1::bigint IS NULL OR seq < $1)
       ORDER BY seq DESC LIMIT $2`,
      [after ?? null, limit + 1],
    );
    return deliveryPage(found.rows, limit);
  }

  async countPendingDeliveries(): Promise<number> {
    const counted = await this.#query<{ count: number }>(
      "SELECT count(*)::integer AS count FROM webhook_outbox WHERE status = 'pending'",
    );
    return counted.rows[0]?.count ?? 0;
  }

  async findTokensToNotice(query: NoticeQuery): Promise<TokenRecord[]> {
    const { notice, from, before, limit } = noticeValues(query);
    const found = await this.#query<TokenRow>(
      `SELECT ${TOKEN_COLUMNS} FROM tokens t
        WHERE expires_at IS NOT NULL AND expires_at >= $2 AND expires_at < $3 AND replaced_by IS NULL
          AND NOT EXISTS (SELECT 1 FROM webhook_expiry_notices n WHERE n.token_id = t.id AND n.notice = $1)
        ORDER BY expires_at LIMIT $4`,
      [notice, new Date(from), new Date(before), limit],
    );
    return found.rows.map(toRecord);
  }

  /** The notice's key decides: of two replicas recording one notice, one inserts it and writes its event. */
  recordNotices(notices: readonly ExpiryNotice[]): Promise<AuditEvent[]> {
    if (notices.length === 0) return Promise.resolve([]);
    return this.#transaction(async (client) => {
      const written: AuditEvent[] = [];
      for (const { tokenId, notice, event } of inIdOrder(notices)) {
        const inserted = await client.query(
          `INSERT INTO webhook_expiry_notices (token_id, notice, noticed_at) VALUES ($1, $2, $3)
           ON CONFLICT DO NOTHING`,
          [tokenId, notice, event.time.getTime()],
        );
        if (inserted.rowCount === 0) continue;
        await insertEvents(client, [event], this.#outbox);
        written.push(event);
      }
      return written;
    });
  }

  /** A session advisory lock, tried, not waited for, on a connection held while `work` runs. */
  async runAlone<T>(name: string, work: () => Promise<T>): Promise<T | undefined> {
    const key = ALONE_LOCK_KEYS[name];
    if (key === undefined) throw new Error(`runAlone: no lock key for ${name}`);
    let checkedOut: Awaited<ReturnType<typeof checkOut>>;
    try {
      checkedOut = await checkOut(this.#pool);
    } catch (err) {
      throw toStoreError(err);
    }
    const { client, giveBack } = checkedOut;
    let broken = false;
    try {
      const locked = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
        key,
      ]);
      if (locked.rows[0]?.locked !== true) return undefined;
      try {
        return await work();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => {
          broken = true;
        });
      }
    } catch (err) {
      broken ||= unavailableReason(err) !== undefined;
      throw toStoreError(err);
    } finally {
      giveBack(broken);
    }
  }

  protected async closeConnection(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#reconnectTimer);
    const listening = this.#listenConnection;
    this.#listenConnection = undefined;
    this.#listening = false;
    await Promise.all([this.#pool.end(), listening?.end().catch(() => {})]);
  }
}
