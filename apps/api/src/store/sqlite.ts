// The default TokenStore: one embedded SQLite file (better-sqlite3), WAL mode, durable on every commit.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
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
import { Checkpointer } from './checkpointer.js';
import { claimDatabase } from './claim.js';
import { LocalRevocations } from './localRevocations.js';
import { migrations } from './migrations.js';
import {
  deliveryPage,
  inIdOrder,
  noticeValues,
  OUTBOX_COLUMNS,
  type OutboxRow,
  outboxValues,
  toDelivery,
} from './outboxRows.js';
import {
  type AuditEvent,
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
  type RevocationListener,
  StoreUnavailableError,
  type TokenRecord,
  type TokenStore,
  type TokenUse,
  type Writes,
} from './store.js';

/** What reads count as live (see base.ts), `now` being @now. */
const LIVE = liveAt('@now');

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
  allowedCidrs: JSON.stringify(token.allowedCidrs),
  notBefore: token.notBefore?.getTime() ?? null,
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

export interface SqliteStoreOptions extends SqlStoreOptions {
  busyTimeoutMs?: number;
  /** How often the background checkpointer runs; 0 leaves checkpoints to SQLite, in the writer. */
  checkpointEveryMs?: number;
}

export { PURGE_BATCH_SIZE };

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

export class SqliteTokenStore extends BaseTokenStore implements TokenStore {
  readonly #db: Database.Database;
  readonly #statements;
  readonly #write: (change: LockedWrite<unknown>) => { outcome: unknown; revoked: Buffer[] };
  /** This process is the database's only writer that caches: revocations are told in process. */
  readonly #revocations = new LocalRevocations();
  /**
   * Whether this process hears every revocation: not when the file is claimed `shared`, since the
   * other processes' commits are never told here. Its feed then never listens, so no cache trusts it
   * and GET /tokens/revocations answers 503.
   */
  readonly #hearsAllRevocations: boolean;
  readonly #insertAll: (batch: readonly PendingInsert[]) => unknown[];
  readonly #writeOnce: (change: OnceWrite<unknown>) => { outcome: unknown; revoked: Buffer[] };
  readonly #recordRefusals: (refusals: readonly MergingEvent[]) => void;
  readonly #purgeAuditBatch: (cutoff: number) => number;
  readonly #checkpointer: Checkpointer | undefined;
  readonly #releaseClaim: () => void;
  readonly #scan: (scan: TokenScan) => { rows: PositionedRow[]; following: number | undefined };
  readonly #purgeBatch: (cutoff: number) => number;
  readonly #recordUses: (uses: readonly TokenUse[], minIntervalMs: number) => void;
  readonly #outboxStatements;
  readonly #claimDeliveries: (claim: DeliveryClaim) => Delivery[];
  readonly #recordDelivery: (
    position: DeliveryPosition,
    owner: string,
    outcome: DeliveryOutcome,
    at: number,
  ) => boolean;
  readonly #recordNotices: (notices: readonly ExpiryNotice[]) => AuditEvent[];
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
    super(options);
    const { busyTimeoutMs = 1000, checkpointEveryMs = 1000, onBackgroundError = () => {}, claim } = options;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    // Claimed before the database is even opened: a process that may not use it must not migrate it.
    // No claim is checked when none is given, as for tools that open the database while no server runs.
    this.#releaseClaim = path !== ':memory:' && claim !== undefined ? claimDatabase(path, claim) : () => {};
    this.#hearsAllRevocations = path === ':memory:' || claim !== 'shared';
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
        `INSERT INTO tokens (id, name, description, expires_at, created_at, dataset_capabilities, org_capabilities, view_capabilities, secret_digest, allowed_cidrs, not_before)
         VALUES (@id, @name, @description, @expiresAt, @createdAt, @datasetCapabilities, @orgCapabilities, @viewCapabilities, @secretDigest, @allowedCidrs, @notBefore)`,
      ),
      findByDigest: db.prepare<[Buffer], TokenRow>(
        `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE secret_digest = ?`,
      ),
      findById: db.prepare<{ id: string; now: number }, TokenRow>(
        `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE id = @id AND ${LIVE}`,
      ),
      // Within a write transaction, which holds the database's one write lock: the row cannot change.
      lockedById: db.prepare<[string], TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE id = ?`),
      digestById: db.prepare<[string], { secret_digest: Buffer }>(
        'SELECT secret_digest FROM tokens WHERE id = ?',
      ),
      // The live rows among the next `scan` rows: a page reads a bounded number of expired ones.
      list: db.prepare<
        { now: number; after: number; scan: number; limit: number },
        TokenRow & { position: number }
      >(
        `SELECT * FROM (SELECT seq AS position, ${TOKEN_COLUMNS} FROM tokens WHERE seq > @after ORDER BY seq LIMIT @scan)
         WHERE ${LIVE} ORDER BY position LIMIT @limit`,
      ),
      firstAfterScan: db.prepare<{ after: number; scan: number }, { seq: number }>(
        'SELECT seq FROM tokens WHERE seq > @after ORDER BY seq LIMIT 1 OFFSET @scan',
      ),
      purge: db.prepare<{ cutoff: number; batch: number }, { id: string }>(
        `DELETE FROM tokens WHERE seq IN
           (SELECT seq FROM tokens WHERE ${expiredBefore('@cutoff')} LIMIT @batch)
         RETURNING id`,
      ),
      purgeNotices: db.prepare<[string]>('DELETE FROM webhook_expiry_notices WHERE token_id = ?'),
      delete: db.prepare<[string]>('DELETE FROM tokens WHERE id = ?'),
      replace: db.prepare<{ id: string; expiresAt: number | null; replacedBy: string }>(
        'UPDATE tokens SET expires_at = @expiresAt, replaced_by = @replacedBy WHERE id = @id',
      ),
      recordUse: db.prepare<{ id: string; at: number; minIntervalMs: number }>(
        `UPDATE tokens SET last_used_at = @at
         WHERE id = @id AND ${lastUseDue('@at', '@minIntervalMs')}`,
      ),
      count: db.prepare<[], { count: number }>('SELECT count(*) AS count FROM tokens'),
      // Reads the file (a small table), so a database that cannot be read answers unavailable.
      ping: db.prepare('SELECT count(*) FROM meta'),
      // Newest first; `after` is the last seq of the previous page.
      listEvents: db.prepare<AuditFilter, AuditEventRow & { seq: number }>(
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
      isMarked: db.prepare<[string], { key: string }>('SELECT key FROM meta WHERE key = ?'),
      mark: db.prepare<[string, string]>('INSERT INTO meta (key, value) VALUES (?, ?)'),
      anyToken: db.prepare<[], { found: number }>('SELECT 1 AS found FROM tokens LIMIT 1'),
    };

    const statements = this.#statements;
    this.#outboxStatements = {
      insert: db.prepare<ReturnType<typeof outboxValues>>(
        `INSERT INTO webhook_outbox (webhook_id, event_id, type, url, body, created_at, next_attempt_at)
         VALUES (@webhookId, @eventId, @type, @url, @body, @createdAt, @nextAttemptAt)`,
      ),
      // Due deliveries to a URL recorded gone are not sent: marked gone, before the claim.
      stopDueToGone: db.prepare<{ now: number }>(
        `UPDATE webhook_outbox SET status = 'gone', next_attempt_at = NULL
          WHERE status = 'pending' AND next_attempt_at <= @now
            AND (lease_until IS NULL OR lease_until <= @now)
            AND url IN (SELECT url FROM webhook_gone_urls)`,
      ),
      claim: db.prepare<{ now: number; limit: number; owner: string; leaseUntil: number }, OutboxRow>(
        `UPDATE webhook_outbox
            SET attempts = attempts + 1, last_attempt_at = @now, lease_owner = @owner, lease_until = @leaseUntil
          WHERE seq IN (SELECT seq FROM webhook_outbox
                         WHERE status = 'pending' AND next_attempt_at <= @now
                           AND (lease_until IS NULL OR lease_until <= @now)
                         ORDER BY next_attempt_at LIMIT @limit)
          RETURNING ${OUTBOX_COLUMNS}`,
      ),
      markGone: db.prepare<{ url: string; at: number }>(
        'INSERT INTO webhook_gone_urls (url, gone_at) VALUES (@url, @at) ON CONFLICT DO NOTHING',
      ),
      // Its in-flight attempts too: their leases end, so what they come to is not recorded.
      stopPendingTo: db.prepare<{ url: string }>(
        `UPDATE webhook_outbox SET status = 'gone', next_attempt_at = NULL, lease_owner = NULL, lease_until = NULL
          WHERE url = @url AND status = 'pending'`,
      ),
      record: db.prepare<{
        seq: number;
        owner: string;
        status: string;
        nextAttemptAt: number | null;
        lastStatus: number | null;
        lastError: string | null;
      }>(
        `UPDATE webhook_outbox
            SET status = @status, next_attempt_at = @nextAttemptAt, last_status = @lastStatus,
                last_error = @lastError, lease_owner = NULL, lease_until = NULL
          WHERE seq = @seq AND lease_owner = @owner`,
      ),
      urlOf: db.prepare<[number], { url: string }>('SELECT url FROM webhook_outbox WHERE seq = ?'),
      list: db.prepare<{ after: number | null; limit: number }, OutboxRow>(
        `SELECT ${OUTBOX_COLUMNS} FROM webhook_outbox WHERE (@after IS NULL OR seq < @after)
         ORDER BY seq DESC LIMIT @limit`,
      ),
      countPending: db.prepare<[], { count: number }>(
        "SELECT count(*) AS count FROM webhook_outbox WHERE status = 'pending'",
      ),
      toNotice: db.prepare<ReturnType<typeof noticeValues>, TokenRow>(
        `SELECT ${TOKEN_COLUMNS} FROM tokens t
          WHERE expires_at IS NOT NULL AND expires_at >= @from AND expires_at < @before AND replaced_by IS NULL
            AND NOT EXISTS (SELECT 1 FROM webhook_expiry_notices n WHERE n.token_id = t.id AND n.notice = @notice)
          ORDER BY expires_at LIMIT @limit`,
      ),
      notice: db.prepare<{ tokenId: string; notice: string; at: number }>(
        `INSERT INTO webhook_expiry_notices (token_id, notice, noticed_at) VALUES (@tokenId, @notice, @at)
         ON CONFLICT DO NOTHING`,
      ),
      purge: db.prepare<{ cutoff: number; batch: number }>(
        `DELETE FROM webhook_outbox WHERE seq IN
           (SELECT seq FROM webhook_outbox WHERE status <> 'pending' AND created_at < @cutoff LIMIT @batch)`,
      ),
    };
    const outbox = this.#outboxStatements;
    const messagesFor = options.outbox ?? (() => []);
    /** An audit event and its webhook messages, in the caller's transaction. */
    const writeEvent = (event: AuditEvent) => {
      statements.insertEvent.run(auditRow(event));
      for (const message of messagesFor(event)) outbox.insert.run(outboxValues(message));
    };
    const locked = (id: string): TokenRecord | undefined => {
      const row = statements.lockedById.get(id);
      return row === undefined ? undefined : toRecord(row);
    };
    const apply = (writes: Writes) => {
      if (writes.replace !== undefined) {
        const { id, expiresAt, replacedBy } = writes.replace;
        statements.replace.run({ id, expiresAt: expiresAt?.getTime() ?? null, replacedBy });
      }
      if (writes.delete !== undefined) {
        statements.delete.run(writes.delete);
        // The token's expiry notices go with it, as the purge takes them with an expired one.
        statements.purgeNotices.run(writes.delete);
      }
      if (writes.insert !== undefined)
        statements.insert.run(toRow(writes.insert.token, writes.insert.secretDigest));
      if (writes.event !== undefined) writeEvent(writes.event);
      if (writes.mark !== undefined) statements.mark.run(writes.mark.fact, writes.mark.at.toISOString());
    };
    /** Applies writes, answering the digests of the tokens they revoke, read before the writes, which may delete the rows. */
    const applyRevoking = (writes: Writes): Buffer[] => {
      const revoked = (writes.revoke ?? []).flatMap((id) => {
        const found = statements.digestById.get(id);
        return found === undefined ? [] : [found.secret_digest];
      });
      apply(writes);
      return revoked;
    };
    // Every write transaction is IMMEDIATE: it takes the write lock before its first read, so what
    // it reads cannot change before it commits. A DEFERRED one reads first, and if another process
    // commits before it writes, SQLite refuses it outright (SQLITE_BUSY_SNAPSHOT) instead of waiting its turn.
    this.#write = db.transaction((change: LockedWrite<unknown>) => {
      const rows = new Map<string, TokenRecord>();
      for (const id of change.lock) {
        const row = rows.has(id) ? undefined : locked(id);
        if (row !== undefined) rows.set(id, row);
      }
      const { outcome, writes } = change.decide(rows);
      return { outcome, revoked: writes === undefined ? [] : applyRevoking(writes) };
    }).immediate;
    this.#insertAll = db.transaction((batch: readonly PendingInsert[]) =>
      batch.map(({ token, secretDigest, check, event }): unknown => {
        const refused = check?.refuse(locked(check.lock), token);
        if (refused !== undefined) return refused;
        apply({ insert: { token, secretDigest }, event });
        return 'inserted';
      }),
    ).immediate;
    // The write lock is the fact's lock: no other write, in any process, comes between the read and the write.
    this.#writeOnce = db.transaction((change: OnceWrite<unknown>) => {
      const { outcome, writes } = change.decide({
        marked: statements.isMarked.get(change.fact) !== undefined,
        hasTokens: statements.anyToken.get() !== undefined,
      });
      return { outcome, revoked: writes === undefined ? [] : applyRevoking(writes) };
    }).immediate;
    this.#recordRefusals = db.transaction((refusals: readonly MergingEvent[]) => {
      for (const { event, mergeKey } of refusals) statements.mergeRefusal.run(auditRow(event, mergeKey));
    }).immediate;
    this.#purgeAuditBatch = db.transaction((cutoff: number) => {
      // Finished webhook deliveries go with the audit events they delivered.
      outbox.purge.run({ cutoff, batch: PURGE_BATCH_SIZE });
      return statements.purgeEvents.run({ cutoff, batch: PURGE_BATCH_SIZE }).changes;
    }).immediate;
    this.#claimDeliveries = db.transaction((claim: DeliveryClaim) => {
      outbox.stopDueToGone.run({ now: claim.now.getTime() });
      return outbox.claim
        .all({
          now: claim.now.getTime(),
          limit: claim.limit,
          owner: claim.owner,
          leaseUntil: claim.leaseUntil.getTime(),
        })
        .map(toDelivery)
        .sort((a, b) => a.position - b.position);
    }).immediate;
    this.#recordDelivery = db.transaction(
      (position: DeliveryPosition, owner: string, outcome: DeliveryOutcome, at: number): boolean => {
        const { changes } = outbox.record.run({
          seq: position,
          owner,
          status: outcome.status,
          nextAttemptAt: outcome.nextAttemptAt?.getTime() ?? null,
          lastStatus: outcome.lastStatus,
          lastError: outcome.lastError,
        });
        if (changes === 0 || outcome.stopsUrl !== true) return changes > 0;
        const url = outbox.urlOf.get(position)?.url;
        if (url !== undefined) {
          outbox.markGone.run({ url, at });
          outbox.stopPendingTo.run({ url });
        }
        return true;
      },
    ).immediate;
    this.#recordNotices = db.transaction((notices: readonly ExpiryNotice[]) => {
      const written: AuditEvent[] = [];
      for (const { tokenId, notice, event } of inIdOrder(notices)) {
        if (outbox.notice.run({ tokenId, notice, at: event.time.getTime() }).changes === 0) continue;
        writeEvent(event);
        written.push(event);
      }
      return written;
    }).immediate;
    this.#purgeBatch = db.transaction((cutoff: number) => {
      const purged = statements.purge.all({ cutoff, batch: PURGE_BATCH_SIZE });
      // A purged token's expiry notices go with it: nothing is noticed about a token no longer stored.
      for (const { id } of purged) statements.purgeNotices.run(id);
      return purged.length;
    }).immediate;
    this.#recordUses = db.transaction((uses: readonly TokenUse[], minIntervalMs: number) => {
      for (const use of uses) statements.recordUse.run({ id: use.id, at: use.at.getTime(), minIntervalMs });
    }).immediate;
    // Read-only, so DEFERRED: one snapshot for both reads, so the next page starts where this one read to.
    this.#scan = db.transaction(({ now, after, scan, limit }: TokenScan) => ({
      rows: statements.list.all({ now: now.getTime(), after, scan, limit }),
      following: statements.firstAfterScan.get({ after, scan })?.seq,
    }));

    // Last, once nothing else can fail: a store that failed to open must leave no worker running.
    if (path !== ':memory:' && checkpointEveryMs > 0) {
      // The writer checkpoints only as a backstop, should the log outgrow what the worker keeps up with.
      db.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
      this.#checkpointer = new Checkpointer(path, {
        intervalMs: checkpointEveryMs,
        onError: onBackgroundError,
      });
    }
    this.startBackgroundPurge();
  }

  protected async commitInserts(batch: readonly PendingInsert[]): Promise<unknown[]> {
    return guarded(() => this.#insertAll(batch));
  }

  async findByDigest(secretDigest: Buffer): Promise<TokenRecord | undefined> {
    const row = guarded(() => this.#statements.findByDigest.get(secretDigest));
    return row === undefined ? undefined : toRecord(row);
  }

  async findById(id: string, now: Date): Promise<TokenRecord | undefined> {
    const row = guarded(() => this.#statements.findById.get({ id, now: now.getTime() }));
    return row === undefined ? undefined : toRecord(row);
  }

  protected async scanTokens(scan: TokenScan) {
    return guarded(() => this.#scan(scan));
  }

  protected async purgeTokenBatch(cutoff: Date): Promise<number> {
    return guarded(() => this.#purgeBatch(cutoff.getTime()));
  }

  protected async purgeAuditBatch(cutoff: Date): Promise<number> {
    return guarded(() => this.#purgeAuditBatch(cutoff.getTime()));
  }

  async write<Outcome>(change: LockedWrite<Outcome>): Promise<Outcome> {
    return this.#published(guarded(() => this.#write(change as LockedWrite<unknown>))) as Outcome;
  }

  /** After the commit: a listener told earlier could read the row back before it changed. */
  #published({ outcome, revoked }: { outcome: unknown; revoked: Buffer[] }): unknown {
    if (revoked.length > 0) this.#revocations.publish(revoked);
    return outcome;
  }

  listenForRevocations(listener: RevocationListener): () => void {
    // Never `listening` when other processes write unheard: a feed missing their revocations must not be read.
    if (!this.#hearsAllRevocations) return () => {};
    return this.#revocations.listen(listener);
  }

  async writeOnce<Outcome>(change: OnceWrite<Outcome>): Promise<Outcome> {
    return this.#published(guarded(() => this.#writeOnce(change as OnceWrite<unknown>))) as Outcome;
  }

  async recordRefusals(refusals: readonly MergingEvent[]): Promise<void> {
    if (refusals.length > 0) guarded(() => this.#recordRefusals(refusals));
  }

  protected async auditRows(filter: AuditFilter): Promise<SequencedAuditRow[]> {
    return guarded(() => this.#statements.listEvents.all(filter));
  }

  async recordUses(uses: readonly TokenUse[], minIntervalMs: number): Promise<void> {
    if (uses.length > 0) guarded(() => this.#recordUses(uses, minIntervalMs));
  }

  async count(): Promise<number> {
    return guarded(() => this.#statements.count.get())?.count ?? 0;
  }

  async claimDeliveries(claim: DeliveryClaim): Promise<Delivery[]> {
    return guarded(() => this.#claimDeliveries(claim));
  }

  async recordDelivery(
    position: DeliveryPosition,
    owner: string,
    outcome: DeliveryOutcome,
  ): Promise<boolean> {
    return guarded(() => this.#recordDelivery(position, owner, outcome, Date.now()));
  }

  async listDeliveries({ limit, after }: { limit: number; after?: DeliveryPosition }): Promise<DeliveryPage> {
    const rows = guarded(() => this.#outboxStatements.list.all({ after: after ?? null, limit: limit + 1 }));
    return deliveryPage(rows, limit);
  }

  async countPendingDeliveries(): Promise<number> {
    return guarded(() => this.#outboxStatements.countPending.get())?.count ?? 0;
  }

  async findTokensToNotice(query: NoticeQuery): Promise<TokenRecord[]> {
    return guarded(() => this.#outboxStatements.toNotice.all(noticeValues(query))).map(toRecord);
  }

  async recordNotices(notices: readonly ExpiryNotice[]): Promise<AuditEvent[]> {
    return notices.length === 0 ? [] : guarded(() => this.#recordNotices(notices));
  }

  /** One process at a time already: a write takes the database's one write lock. */
  async runAlone<T>(_name: string, work: () => Promise<T>): Promise<T | undefined> {
    return work();
  }

  async ping(): Promise<void> {
    guarded(() => this.#statements.ping.get());
  }

  protected async closeConnection(): Promise<void> {
    try {
      await this.#checkpointer?.stop();
      if (this.#db.open) this.#db.close();
    } finally {
      this.#releaseClaim();
    }
  }
}
