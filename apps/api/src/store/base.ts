// What every SQL store does alike, written once: defaults, row mapping, group commit, page assembly and the purge loops. A store adds its dialect.
import type { AuditEventRow } from './auditRows.js';
import { toAuditEvent } from './auditRows.js';
import { BackgroundPurge } from './backgroundPurge.js';
import {
  type AuditEvent,
  type AuditPage,
  type AuditQuery,
  DEFAULT_AUDIT_RETENTION_MS,
  DEFAULT_EXPIRED_TOKEN_RETENTION_MS,
  type InsertCheck,
  type ListPage,
  type ListPosition,
  type StoreOptions,
  StoreUnavailableError,
  type TokenRecord,
} from './store.js';

/** Rows deleted per purge transaction: each holds its locks for about a millisecond, so the purge never holds up requests. */
export const PURGE_BATCH_SIZE = 500;

/** Long-expired rows cost listing only a bounded read per page, so a purge every ten minutes is plenty. */
export const DEFAULT_PURGE_EVERY_MS = 10 * 60 * 1000;

/** Expired rows a page of a listing reads past at most, as many as a full page of live ones. */
export const DEFAULT_EXPIRED_ROWS_READ_PER_PAGE = 1000;

/** What every store's options share beyond StoreOptions. */
export interface SqlStoreOptions extends StoreOptions {
  /** How often the background purge runs; 0: never in the background, only when purgeExpired is called. */
  purgeEveryMs?: number;
  /** At most how many expired rows a listing reads past for one page before ending it early. */
  expiredRowsReadPerPage?: number;
}

/**
 * What reads count as live, as a SQL filter at the `now` they are given (`now`: its placeholder in
 * the dialect): tokens/expiry.ts's isLive, applied, never decided here; the contract suite pins the
 * two together to the millisecond.
 */
export const liveAt = (now: string) => `(expires_at IS NULL OR expires_at > ${now})`;

/**
 * Where a use at `at` is written as the token's last: its recorded last use is none, or at least
 * `minInterval` older (placeholders or expressions of the dialect). tokens/usage.ts's "at most once
 * a minute", interval and all, applied here too, so that processes sharing the database write a
 * token's minute once.
 */
export const lastUseDue = (at: string, minInterval: string) =>
  `(last_used_at IS NULL OR last_used_at <= ${at} - ${minInterval})`;

/** What the purge deletes: rows that expired before `cutoff` (its placeholder), the end of their retention. */
export const expiredBefore = (cutoff: string) => `expires_at IS NOT NULL AND expires_at < ${cutoff}`;

/** The token columns every store's schema has, in the order rows are read. */
export const TOKEN_COLUMNS =
  'id, name, description, expires_at, created_at, dataset_capabilities, org_capabilities, view_capabilities, replaced_by, last_used_at, allowed_cidrs, not_before';

/**
 * A token row as a driver returns it: times as Unix ms (SQLite) or Date (PostgreSQL), capability
 * maps as JSON text (SQLite) or parsed (PostgreSQL's json).
 */
export interface TokenRow {
  id: string;
  name: string;
  description: string;
  expires_at: number | Date | null;
  created_at: number | Date;
  dataset_capabilities: string | TokenRecord['datasetCapabilities'];
  org_capabilities: string | TokenRecord['orgCapabilities'];
  view_capabilities: string | TokenRecord['viewCapabilities'];
  replaced_by: string | null;
  last_used_at: number | Date | null;
  /** JSON text (SQLite) or parsed (PostgreSQL's json): a list of normalised CIDRs, [] for anywhere. */
  allowed_cidrs: string | readonly string[];
  not_before: number | Date | null;
}

const toDate = (value: number | Date) => (value instanceof Date ? value : new Date(value));
const fromJson = <T>(value: string | T): T => (typeof value === 'string' ? (JSON.parse(value) as T) : value);

export const toRecord = (row: TokenRow): TokenRecord => ({
  id: row.id,
  name: row.name,
  description: row.description,
  expiresAt: row.expires_at === null ? null : toDate(row.expires_at),
  createdAt: toDate(row.created_at),
  datasetCapabilities: fromJson(row.dataset_capabilities),
  orgCapabilities: fromJson(row.org_capabilities),
  viewCapabilities: fromJson(row.view_capabilities),
  lastUsedAt: row.last_used_at === null ? null : toDate(row.last_used_at),
  replacedBy: row.replaced_by,
  allowedCidrs: fromJson(row.allowed_cidrs),
  notBefore: row.not_before === null ? null : toDate(row.not_before),
});

/** A token row and its place in the listing order (a bigint, as text, from PostgreSQL). */
export type PositionedRow = TokenRow & { position: number | string };

/** What a page of the listing reads, in one snapshot: see BaseTokenStore.scanTokens. */
export interface TokenScan {
  now: Date;
  /** Rows after this position; 0 from the start (positions start at 1). */
  after: number;
  /** How many rows to read at most, live or not. */
  scan: number;
  /** How many live rows to answer at most. */
  limit: number;
}

/** An audit row and its place in the trail (a bigint, as text, from PostgreSQL). */
export type SequencedAuditRow = Omit<AuditEventRow, 'time'> & { time: number | string; seq: number | string };

/** An AuditQuery as a statement takes it: each filter null when absent, times as Unix ms, one row more than the page. */
export interface AuditFilter {
  after: number | null;
  type: string | null;
  tokenId: string | null;
  since: number | null;
  until: number | null;
  limit: number;
}

/**
 * A page from the live rows of a bounded scan (up to `limit` + 1 of them, in order) and the
 * position of the first row past the scan, if any.
 */
function listPage(
  rows: readonly PositionedRow[],
  limit: number,
  following: number | string | undefined,
): ListPage {
  const tokens = rows
    .slice(0, limit)
    .map((row) => ({ token: toRecord(row), position: Number(row.position) }));
  if (rows.length > limit) return { tokens, next: tokens.at(-1)?.position };
  // Every live row read is in the page; if the read stopped short of the end, carry on after it.
  return { tokens, next: following === undefined ? undefined : Number(following) - 1 };
}

/** A page of the audit trail from up to `limit` + 1 rows, newest first. */
function auditPage(rows: readonly SequencedAuditRow[], limit: number): AuditPage {
  const events = rows.slice(0, limit);
  const last = events.at(-1);
  return {
    events: events.map(toAuditEvent),
    next: rows.length > limit && last !== undefined ? Number(last.seq) : undefined,
  };
}

/** An insert waiting for the next group commit. */
export interface PendingInsert {
  token: TokenRecord;
  secretDigest: Buffer;
  check: InsertCheck<unknown> | undefined;
  event: AuditEvent | undefined;
}

/** The most inserts one group commit carries; the rest wait for the next, so no transaction grows without bound. */
const MAX_INSERTS_PER_COMMIT = 1000;

/** A queued insert and the promise it answers. */
interface Queued {
  insert: PendingInsert;
  resolve: (outcome: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * The part of a store that is not its dialect: group commit of inserts, the purge loops and their
 * timer, and the order of closing. A store implements the statements.
 */
export abstract class BaseTokenStore {
  readonly #retentionMs: number;
  readonly #auditRetentionMs: number;
  readonly #purgeEveryMs: number;
  readonly #onBackgroundError: (err: Error) => void;
  readonly #expiredRowsReadPerPage: number;
  #backgroundPurge: BackgroundPurge | undefined;
  #pending: Queued[] = [];
  /** The group commit in progress (at most one), which close() waits for. */
  readonly #committing = new Set<Promise<void>>();
  #closing = false;

  constructor(options: SqlStoreOptions) {
    this.#retentionMs = options.expiredTokenRetentionMs ?? DEFAULT_EXPIRED_TOKEN_RETENTION_MS;
    this.#auditRetentionMs = options.auditRetentionMs ?? DEFAULT_AUDIT_RETENTION_MS;
    this.#purgeEveryMs = options.purgeEveryMs ?? DEFAULT_PURGE_EVERY_MS;
    this.#onBackgroundError = options.onBackgroundError ?? (() => {});
    this.#expiredRowsReadPerPage = options.expiredRowsReadPerPage ?? DEFAULT_EXPIRED_ROWS_READ_PER_PAGE;
  }

  /** Commits a batch of inserts in one transaction, each checked as its `check` says; one outcome per insert. */
  protected abstract commitInserts(batch: readonly PendingInsert[]): Promise<unknown[]>;
  /** Deletes up to PURGE_BATCH_SIZE tokens that expired before `cutoff`; how many. */
  protected abstract purgeTokenBatch(cutoff: Date): Promise<number>;
  /** Deletes up to PURGE_BATCH_SIZE audit events older than `cutoff`; how many. */
  protected abstract purgeAuditBatch(cutoff: Date): Promise<number>;
  /** Closes the connection (or pool), once nothing else runs on it. */
  protected abstract closeConnection(): Promise<void>;
  /**
   * In one snapshot: the live rows (up to `limit`, in order) among the `scan` rows after `after`,
   * and the position of the first row past those `scan`, if any.
   */
  protected abstract scanTokens(
    scan: TokenScan,
  ): Promise<{ rows: readonly PositionedRow[]; following: number | string | undefined }>;
  /** The audit rows that match `filter`, newest first, up to its limit. */
  protected abstract auditRows(filter: AuditFilter): Promise<readonly SequencedAuditRow[]>;

  /**
   * A page reads at most `limit` + 1 live rows (one more tells whether another page follows) among
   * a bounded number of expired ones, so that a stretch awaiting the purge cannot make one read unbounded.
   */
  async list({ now, limit, after }: { now: Date; limit: number; after?: ListPosition }): Promise<ListPage> {
    const { rows, following } = await this.scanTokens({
      now,
      after: after ?? 0,
      scan: limit + 1 + this.#expiredRowsReadPerPage,
      limit: limit + 1,
    });
    return listPage(rows, limit, following);
  }

  async listAuditEvents(query: AuditQuery): Promise<AuditPage> {
    const rows = await this.auditRows({
      after: query.after ?? null,
      type: query.type ?? null,
      tokenId: query.tokenId ?? null,
      since: query.since?.getTime() ?? null,
      until: query.until?.getTime() ?? null,
      limit: query.limit + 1,
    });
    return auditPage(rows, query.limit);
  }

  /** Starts the background purge; a store calls it last in opening, once nothing else can fail. */
  protected startBackgroundPurge(): void {
    if (this.#purgeEveryMs > 0) {
      this.#backgroundPurge = new BackgroundPurge(
        (now) => this.purgeExpired(now),
        this.#purgeEveryMs,
        this.#onBackgroundError,
      );
    }
  }

  /**
   * Group commit: one insert transaction at a time per store. Inserts that arrive while it commits
   * wait and are written together in the next one, so concurrent creates share one commit (one
   * fsync, one round of statements) instead of paying one each, and the busier the store the more
   * each commit carries. Each promise resolves only once its row is durably committed.
   *
   * One at a time rather than a transaction per turn of the event loop: on PostgreSQL a commit is
   * five round trips, and overlapping commits split the queue into many small ones, whose
   * statements and socket writes then cost more than the rows (docs/benchmarks.md: under the
   * benchmark's create load, one replica's commits carried 3.5 rows that way and 8 this way; each
   * of two replicas', 2 and 4). The price: a commit that waits on a row lock (its issuer's, held
   * by a delete of that issuer in progress) holds the inserts queued behind it that long.
   */
  insert<Refusal = never>(
    token: TokenRecord,
    secretDigest: Buffer,
    check?: InsertCheck<Refusal>,
    event?: AuditEvent,
  ): Promise<'inserted' | Refusal> {
    return new Promise((resolve, reject) => {
      this.#pending.push({
        insert: { token, secretDigest, check, event },
        resolve: resolve as (outcome: unknown) => void,
        reject,
      });
      if (this.#pending.length === 1) setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    if (this.#pending.length === 0 || this.#committing.size > 0) return;
    const batch = this.#pending.splice(0, MAX_INSERTS_PER_COMMIT);
    const committing = this.#commit(batch).finally(() => {
      this.#committing.delete(committing);
      this.#flush();
    });
    this.#committing.add(committing);
  }

  async #commit(batch: Queued[]): Promise<void> {
    try {
      const outcomes = await this.commitInserts(batch.map((pending) => pending.insert));
      for (const [index, pending] of batch.entries()) pending.resolve(outcomes[index] ?? 'inserted');
    } catch (err) {
      // The environment failed (disk full, database unreachable): every row would fail the same way,
      // and retrying each would cost once per row. Only a failure of the rows' own (a duplicate id
      // or digest) is split up, so that one bad row does not fail its neighbours.
      if (batch.length === 1 || err instanceof StoreUnavailableError) {
        for (const pending of batch) pending.reject(err);
        return;
      }
      for (const pending of batch) await this.#commit([pending]);
    }
  }

  /**
   * Deletes tokens expired for longer than the retention period and audit events older than the
   * audit retention, PURGE_BATCH_SIZE rows per transaction, letting the event loop turn between
   * batches so that requests are never held up for more than one. Stops early when the store closes.
   */
  async purgeExpired(now: Date): Promise<number> {
    const purged = await this.#purgeInBatches(
      (cutoff) => this.purgeTokenBatch(cutoff),
      new Date(now.getTime() - this.#retentionMs),
    );
    await this.#purgeInBatches(
      (cutoff) => this.purgeAuditBatch(cutoff),
      new Date(now.getTime() - this.#auditRetentionMs),
    );
    return purged;
  }

  async #purgeInBatches(purgeBatch: (cutoff: Date) => Promise<number>, cutoff: Date): Promise<number> {
    let purged = 0;
    while (!this.#closing) {
      const deleted = await purgeBatch(cutoff);
      purged += deleted;
      if (deleted < PURGE_BATCH_SIZE) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    return purged;
  }

  /** Stops the purge, commits what is queued, waits for commits in flight, then closes the connection. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    await this.#backgroundPurge?.stop();
    this.#flush();
    // Each commit, as it ends, starts the next with what queued meanwhile.
    while (this.#committing.size > 0) await Promise.all(this.#committing);
    await this.closeConnection();
  }
}
