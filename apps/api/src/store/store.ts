// TokenStore: the persistence boundary. Async, so a networked store (PostgreSQL) can stand in for SQLite unchanged.
import type { AuditEvent, AuditEventType, TokenRecord } from '../model.js';

export type { AuditEvent, TokenRecord };

/**
 * `sole`: this process must be the database's only server, as an in-process cache of what the
 * database holds (the auth cache) needs, or it would not see another process's revocations.
 * `shared`: other processes may use the database too, as long as none of them claimed it `sole`.
 */
export type Claim = 'sole' | 'shared';

/** Another process holds a claim this one cannot share; the message says which kind is in the way. */
export class StoreInUseError extends Error {
  constructor(
    readonly wanted: Claim,
    options?: ErrorOptions,
  ) {
    super(
      wanted === 'sole'
        ? 'the database is in use by another process, and this one must be its only user'
        : 'the database is in use by a process that must be its only user',
      options,
    );
    this.name = 'StoreInUseError';
  }
}

/** What opening any store takes, whatever the database behind it. */
export interface StoreOptions {
  /**
   * Told about background work that failed (a checkpoint, a purge), which is retried, and, as
   * StoreUnavailableError, about the store's environment failing outside any request (a pooled
   * connection the database ended).
   */
  onBackgroundError?: (err: Error) => void;
  /** Which other processes may use the database meanwhile (see Claim); unchecked when left out. */
  claim?: Claim;
  /** How long a token stays stored once expired (or replaced, once its grace period ends) before it is purged. */
  expiredTokenRetentionMs?: number;
  /** How long an audit event is kept before it is purged (AUDIT_RETENTION). */
  auditRetentionMs?: number;
}

/** AUDIT_RETENTION's default: 90 days. */
export const DEFAULT_AUDIT_RETENTION_MS = 90 * 24 * 60 * 60 * 1000;

/** EXPIRED_TOKEN_RETENTION's default: a week, for audits and support questions about a recent token. */
export const DEFAULT_EXPIRED_TOKEN_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

/** DATABASE_POOL_SIZE's default: connections a PostgreSQL store keeps open at most. */
export const DEFAULT_POOL_SIZE = 10;

/** DATABASE_CONNECT_TIMEOUT's default: how long opening a PostgreSQL store retries an unreachable database. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;

/**
 * A place in the store's listing order: the order tokens were committed in. Opaque outside the
 * store; a page starts after one.
 */
export type ListPosition = number;

/** A listed token and its place, from which the next page can start. */
export interface Listed {
  token: TokenRecord;
  position: ListPosition;
}

/**
 * Up to `limit` live tokens and, when more may follow, where the next page starts. A page may hold
 * fewer than `limit` tokens (none, even) and still have a next one: a store reads a bounded number
 * of expired rows per page, so that a stretch of them awaiting the purge cannot make one read
 * unbounded; the next page carries on after the last row read, so a walk skips and repeats nothing.
 */
export interface ListPage {
  tokens: Listed[];
  next?: ListPosition;
}

/**
 * The token on whose authority a write is made. The write happens only if that token is still live
 * at commit time, so a token revoked or expired while its request was in flight grants nothing.
 */
export interface Issuer {
  id: string;
  now: Date;
}

/**
 * The issuer is live but, as read at commit, expires before the token it would issue: a token that
 * expires cannot issue one that outlives it, even if its expiry was cut while the request was in flight.
 */
export interface OutlivesIssuer {
  outlivesIssuer: Date;
}

export type InsertOutcome = 'inserted' | 'issuer_gone' | OutlivesIssuer;

export interface RegenerateRequest {
  id: string;
  now: Date;
  issuer: Issuer;
  /** The end of the old token's grace period; never extends its own expiry. */
  existingTokenExpiresAt: Date;
  replacement: TokenRecord;
  replacementSecretDigest: Buffer;
  /** Written in the same transaction, if and only if the token is regenerated. */
  event?: AuditEvent;
}

/** A token was used (authenticated a request, or was verified) at `at`. */
export interface TokenUse {
  id: string;
  at: Date;
}

/** A place in the audit trail's order, newest first; a page starts after one. Opaque outside the store. */
export type AuditPosition = number;

/** Which audit events to list, newest first. */
export interface AuditQuery {
  limit: number;
  /** Start after this place (the previous page's `next`). */
  after?: AuditPosition;
  type?: AuditEventType;
  /** Events whose actor or target is this token. */
  tokenId?: string;
  /** At or after. */
  since?: Date;
  /** Before. */
  until?: Date;
}

export interface AuditPage {
  events: AuditEvent[];
  /** Where the next page starts, when more may follow. */
  next?: AuditPosition;
}

export type RegenerateOutcome =
  | 'regenerated'
  | 'not_found'
  | 'already_regenerated'
  | 'issuer_gone'
  | OutlivesIssuer;

/**
 * Every read takes `now` and sees only live tokens (never expired at `now`), so expiry takes effect
 * to the millisecond whenever the background purge of long-expired rows runs. Writes are durable
 * before they resolve.
 */
export interface TokenStore {
  /**
   * Stores a new token, if `issuer` (when given) is still live when the write commits and does not
   * expire before the token. `event`, when given, is written in the same transaction: it exists if
   * and only if the token does.
   */
  insert(
    token: TokenRecord,
    secretDigest: Buffer,
    issuer?: Issuer,
    event?: AuditEvent,
  ): Promise<InsertOutcome>;
  /**
   * Stores the bootstrap token, once in the life of the store: false when the store has ever had
   * tokens, even if all were deleted since, so a revoked bootstrap secret never comes back. `event`
   * as for insert.
   */
  insertFirst(token: TokenRecord, secretDigest: Buffer, event?: AuditEvent): Promise<boolean>;
  /** The token whose secret has this digest, expired or not: the caller decides what expiry means. */
  findByDigest(secretDigest: Buffer): Promise<TokenRecord | undefined>;
  findById(id: string, now: Date): Promise<TokenRecord | undefined>;
  /**
   * A page of live tokens in the order they were committed, after `after` when given. Commit order,
   * not creation time: a token committed later never lands before a page already read, so a walk
   * through the pages skips nothing that existed when it started.
   */
  list(options: { now: Date; limit: number; after?: ListPosition }): Promise<ListPage>;
  /** Whether a live token with this id existed (and now does not); `event` is written if it did, in the same transaction. */
  delete(id: string, now: Date, event?: AuditEvent): Promise<boolean>;
  /**
   * In one transaction: if the issuer is still live and does not expire before the replacement,
   * and the token is live and not yet regenerated, cut its expiry to the grace period, mark it
   * replaced, and insert the replacement.
   */
  regenerate(request: RegenerateRequest): Promise<RegenerateOutcome>;
  /**
   * Records each use as its token's last, in one transaction, unless the token's recorded last use
   * is less than `minIntervalMs` before it: a conditional update, so that processes recording uses
   * of one token in the same minute write it once. A token no longer stored is skipped.
   */
  recordUses(uses: readonly TokenUse[], minIntervalMs: number): Promise<void>;
  /**
   * Writes refused authentications, merged per client address and UTC minute: an `auth.refused`
   * event for an address and minute that already has one adds its `details.count` to it (keeping the
   * first one's id, time and request id), so a flood grows the trail by one event a minute per address.
   */
  recordRefusals(events: readonly AuditEvent[]): Promise<void>;
  /** A page of audit events, newest first (the order they were written in), that match `query`. */
  listAuditEvents(query: AuditQuery): Promise<AuditPage>;
  /**
   * Deletes the tokens that expired more than the store's retention period before `now`, a small
   * batch per transaction, and the audit events older than the audit retention; resolves with how
   * many tokens. Stores also run it in the background.
   */
  purgeExpired(now: Date): Promise<number>;
  count(): Promise<number>;
  /** Resolves when the store answers a trivial query, rejects with StoreUnavailableError when not (GET /readyz). */
  ping(): Promise<void>;
  /**
   * True when any number of server processes may serve from the database at once (PostgreSQL):
   * then nothing one process keeps in memory, such as an authentication cache, is exact. False
   * where the database is claimed per process (SQLite, see Claim).
   */
  readonly multiProcess: boolean;
  close(): Promise<void>;
}

/**
 * The store cannot serve right now (disk full or read-only, database locked, I/O failing). The
 * operation changed nothing and may be retried; the store recovers by itself when the cause clears.
 */
export class StoreUnavailableError extends Error {
  readonly reason: string;

  constructor(reason: string, options?: { cause?: unknown }) {
    super(`token store unavailable: ${reason}`, options);
    this.name = 'StoreUnavailableError';
    this.reason = reason;
  }
}
