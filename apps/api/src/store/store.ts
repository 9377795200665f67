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
  /** How long an audit event is kept before it is purged (AUDIT_RETENTION); finished webhook deliveries too. */
  auditRetentionMs?: number;
  /**
   * The webhook messages to write to the outbox with an audit event, in the same transaction (none
   * when left out): the domain decides which events and URLs (webhooks/messages.ts), the store keeps them.
   */
  outbox?: (event: AuditEvent) => readonly OutboxMessage[];
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
 * A place in the store's listing order, handed out as tokens are stored (SQLite's rowid,
 * PostgreSQL's identity column). Opaque outside the store; a page starts after one.
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

/** Each locked id's token as stored, expired or not (the rules decide what expiry means); an id not stored is absent. */
export type LockedTokens = ReadonlyMap<string, TokenRecord>;

/** The changes a rule decided on, written together in the transaction that locked what it read. */
export interface Writes {
  /** Sets this token's expiry and marks it replaced. */
  replace?: { id: string; expiresAt: Date | null; replacedBy: string };
  delete?: string;
  insert?: { token: TokenRecord; secretDigest: Buffer };
  event?: AuditEvent;
  /** Records, for the life of the store, that `fact` happened (see OnceWrite); `at` is kept beside it for an operator. */
  mark?: { fact: string; at: Date };
  /**
   * Tokens this write ends or cuts short, by id (locked): the store publishes their secret digests
   * as one revocation when the transaction commits, to every process that listens (see
   * listenForRevocations). The rule decides which; the store only looks their digests up.
   */
  revoke?: readonly string[];
}

/** Secrets that a commit ended or cut short: evict them from every cache. */
export interface Revocation {
  /**
   * Its place in the feed, the same in every process that hears it (PostgreSQL: a number from the
   * revocation_events sequence, carried in the NOTIFY). Opaque: compared for equality only. Every
   * process hears revocations in commit order, so "after this one" means the same everywhere.
   */
  id: string;
  /** When it was written (the revoking transaction's clock). */
  at: Date;
  /** SHA-256 digests of the secrets. */
  digests: readonly Buffer[];
}

/** Told of revocations as they commit, and of the times they may be missed. */
export interface RevocationListener {
  revoked(revocation: Revocation): void;
  /**
   * From now until `listening`, revocations may be missed (PostgreSQL: the LISTEN connection was
   * lost; the store reconnects by itself): what a listener cached must be dropped, not trusted.
   */
  lost(err: Error): void;
  /** Revocations are heard from now on (at first, and again after `lost`). */
  listening(): void;
}

/** What a rule answers, and what it writes (nothing when left out). */
export interface Decision<Outcome> {
  outcome: Outcome;
  writes?: Writes;
}

/**
 * A write a rule decides on from rows read under lock: the store locks `lock`'s rows (in id order,
 * so two writes never deadlock), calls `decide` with them, synchronously and once, writes what it
 * decided and commits, all in one transaction. The store decides nothing itself.
 */
export interface LockedWrite<Outcome> {
  lock: readonly string[];
  decide(locked: LockedTokens): Decision<Outcome>;
}

/** The store's past as a once-in-its-life rule needs it, read under OnceWrite's lock. */
export interface StoreHistory {
  /** Whether a write marked the fact (Writes.mark) before, in the life of the store. */
  marked: boolean;
  /** Whether any token is stored, expired or not. */
  hasTokens: boolean;
}

/**
 * A write a rule decides on from the store's history, for what may happen once in the life of a
 * store (the bootstrap): the store takes a lock that every other OnceWrite of the same `fact` waits
 * for, in any process, reads the history under it, calls `decide` with it, synchronously and
 * once, writes what it decided and commits, all in one transaction. The store decides nothing itself.
 */
export interface OnceWrite<Outcome> {
  fact: string;
  decide(history: StoreHistory): Decision<Outcome>;
}

/**
 * What a rule checks before a token is inserted, with the row `lock` names locked against change
 * until the insert commits: a refusal, or undefined to insert.
 */
export interface InsertCheck<Refusal> {
  lock: string;
  refuse(locked: TokenRecord | undefined, token: TokenRecord): Refusal | undefined;
}

/** An event written merged with any other of the same `mergeKey` (see recordRefusals). */
export interface MergingEvent {
  event: AuditEvent;
  mergeKey: string;
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

/** Where a webhook delivery stands; the worker (webhooks/) decides, the store keeps it. */
export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'gone';

/** One audit event's message to one webhook URL, as the domain built it, body and all. */
export interface OutboxMessage {
  /** The `webhook-id` of every attempt. */
  webhookId: string;
  eventId: string;
  type: AuditEventType;
  url: string;
  /** The JSON body, exactly as it is sent and signed. */
  body: string;
  createdAt: Date;
  /** When the first attempt is due. */
  nextAttemptAt: Date;
}

/** A place in the outbox's order; a page of deliveries starts after one. Opaque outside the store. */
export type DeliveryPosition = number;

/** An outbox row: the message and how its delivery stands. */
export interface Delivery extends Omit<OutboxMessage, 'nextAttemptAt'> {
  position: DeliveryPosition;
  status: DeliveryStatus;
  attempts: number;
  lastAttemptAt: Date | null;
  /** null: no attempt is due (delivered, failed, gone). */
  nextAttemptAt: Date | null;
  lastStatus: number | null;
  lastError: string | null;
}

/** What an attempt came to, as the worker decided. */
export interface DeliveryOutcome {
  status: DeliveryStatus;
  nextAttemptAt: Date | null;
  lastStatus: number | null;
  lastError: string | null;
  /**
   * True when the worker decided this URL gets nothing more (its receiver answered 410 Gone): the
   * store records the URL as gone, durably, and marks its other pending deliveries `gone`; no
   * delivery to it is claimed again until an operator deletes its row from `webhook_gone_urls`.
   */
  stopsUrl?: boolean;
}

/** Which deliveries to claim: pending, due at `now`, not leased to anyone at `now`. */
export interface DeliveryClaim {
  now: Date;
  limit: number;
  /** Who claims them: only this owner's recordDelivery counts until the lease ends. */
  owner: string;
  /** Until when the claimed rows are this owner's; past it, another may claim them. */
  leaseUntil: Date;
}

export interface DeliveryPage {
  deliveries: Delivery[];
  next?: DeliveryPosition;
}

/** A token expiry notice (`token.expiring` at a threshold, or `token.expired`), recorded once per token and kind. */
export interface ExpiryNotice {
  tokenId: string;
  /** The kind of notice (such as `7d`, `1d`, `expired`): a token gets each kind once. */
  notice: string;
  /** Written (with its outbox messages) only if this token had no notice of this kind yet. */
  event: AuditEvent;
}

/** Which tokens may need a notice of kind `notice`: not replaced, expiring at or after `expiresFrom` and before `expiresBefore`, without one yet. */
export interface NoticeQuery {
  notice: string;
  expiresFrom: Date;
  expiresBefore: Date;
  limit: number;
}

/**
 * Every read takes `now` and sees only live tokens (never expired at `now`), so expiry takes effect
 * to the millisecond whenever the background purge of long-expired rows runs. What "live" means is
 * the rules' (tokens/expiry.ts); a store only applies it as a filter, written once (base.ts's
 * `liveAt`), at the `now` it is given. Likewise the interval of recordUses and the merge key of
 * recordRefusals come from the rules: the SQL applies them and decides nothing. Writes are durable
 * before they resolve.
 */
export interface TokenStore {
  /**
   * Stores a new token, unless `check` (when given), with the row it names locked until the insert
   * commits, refuses it; answers the refusal then. `event`, when given, is written in the same
   * transaction: it exists if and only if the token does.
   */
  insert<Refusal = never>(
    token: TokenRecord,
    secretDigest: Buffer,
    check?: InsertCheck<Refusal>,
    event?: AuditEvent,
  ): Promise<'inserted' | Refusal>;
  /** The token whose secret has this digest, expired or not: the caller decides what expiry means. */
  findByDigest(secretDigest: Buffer): Promise<TokenRecord | undefined>;
  findById(id: string, now: Date): Promise<TokenRecord | undefined>;
  /**
   * A page of live tokens in the order they were stored, after `after` when given. A walk through
   * the pages passes every token that existed when it began exactly once; a token stored during
   * the walk may or may not appear (its position may be behind a page already read).
   */
  list(options: { now: Date; limit: number; after?: ListPosition }): Promise<ListPage>;
  /** Runs a write a rule decides on from rows locked for it (see LockedWrite); resolves with the rule's outcome. */
  write<Outcome>(change: LockedWrite<Outcome>): Promise<Outcome>;
  /** Runs a write a rule decides on from the store's history, under a lock on its fact (see OnceWrite). */
  writeOnce<Outcome>(change: OnceWrite<Outcome>): Promise<Outcome>;
  /**
   * Records each use as its token's last, in one transaction, unless the token's recorded last use
   * is less than `minIntervalMs` before it: a conditional update, so that processes recording uses
   * of one token in the same minute write it once. A token no longer stored is skipped.
   */
  recordUses(uses: readonly TokenUse[], minIntervalMs: number): Promise<void>;
  /**
   * Writes `auth.refused` events, each merged into the one already written under its `mergeKey`, if
   * any: its `details.count` is added to that one's (which keeps its id, time and request id). The
   * rules choose the key (tokens/refusals.ts), so that a flood grows the trail by one event per key.
   */
  recordRefusals(refusals: readonly MergingEvent[]): Promise<void>;
  /** A page of audit events, newest first (the order they were written in), that match `query`. */
  listAuditEvents(query: AuditQuery): Promise<AuditPage>;
  /**
   * Deletes the tokens that expired more than the store's retention period before `now`, a small
   * batch per transaction, and the audit events older than the audit retention; resolves with how
   * many tokens. Stores also run it in the background.
   */
  purgeExpired(now: Date): Promise<number>;
  count(): Promise<number>;
  /**
   * Claims up to `limit` due webhook deliveries for `owner` until `leaseUntil`, oldest due first,
   * counting an attempt for each: rows another process is claiming are skipped, not waited for, and
   * a lease that ran out (its owner died mid-delivery) lets another claim the row. A pending
   * delivery to a URL recorded gone (DeliveryOutcome.stopsUrl) is never claimed: it is marked `gone`.
   */
  claimDeliveries(claim: DeliveryClaim): Promise<Delivery[]>;
  /**
   * Records an attempt's outcome and ends the lease; false (nothing written) when `owner` no longer
   * holds it. With `stopsUrl`, also records the URL as gone and marks its other pending deliveries
   * `gone` (ending their leases), in the same transaction.
   */
  recordDelivery(position: DeliveryPosition, owner: string, outcome: DeliveryOutcome): Promise<boolean>;
  /** A page of webhook deliveries, newest first. */
  listDeliveries(options: { limit: number; after?: DeliveryPosition }): Promise<DeliveryPage>;
  /** How many deliveries are pending: the outbox's depth. */
  countPendingDeliveries(): Promise<number>;
  /** Tokens that may need an expiry notice (see NoticeQuery), soonest expiry first. */
  findTokensToNotice(query: NoticeQuery): Promise<TokenRecord[]>;
  /**
   * Records each notice not recorded before for its token and kind, with its audit event and that
   * event's outbox messages, in one transaction; resolves with the events written.
   */
  recordNotices(notices: readonly ExpiryNotice[]): Promise<AuditEvent[]>;
  /**
   * Runs `work` unless another process is running work under the same `name` (PostgreSQL: an
   * advisory lock); resolves with its result, or undefined when it did not run.
   */
  runAlone<T>(name: string, work: () => Promise<T>): Promise<T | undefined>;
  /** Resolves when the store answers a trivial query, rejects with StoreUnavailableError when not (GET /readyz). */
  ping(): Promise<void>;
  /**
   * Tells `listener` of every revocation committed (by any process on the database) from when it
   * says `listening`; answers a function that stops telling it. Until `listening`, and after
   * `lost`, revocations may be missed.
   */
  listenForRevocations(listener: RevocationListener): () => void;
  close(): Promise<void>;
}

/** Defined with the vocabulary, so that the HTTP edge can recognise it without importing a store. */
export { StoreUnavailableError } from '../model.js';
