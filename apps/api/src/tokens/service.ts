// The token rules: who a secret belongs to, what a caller may create or rotate, and the first (bootstrap) token.
import { randomUUID } from 'node:crypto';
import type { AuditEvent, Provenance, TokenRecord } from '../model.js';
import type { AuditPage, AuditQuery, ListPosition, TokenStore } from '../store/store.js';
import { auditEvent, grantsOf, tokenRef } from './audit.js';
import { AuthCache, DEFAULT_AUTH_CACHE_SIZE } from './authCache.js';
import { bootstrapOnce } from './bootstrap.js';
import {
  allCapabilities,
  assertGrantable,
  type CapabilityCatalog,
  missingCapabilities,
  normalizeCapabilities,
  type RequestedCapabilities,
  refuseEnding,
} from './capabilities.js';
import { deletion } from './deletion.js';
import { TokenError } from './errors.js';
import { isLive } from './expiry.js';
import { isOutlivesIssuer, issuedBy } from './issuance.js';
import { assertStart, assertWithinLifetime, hasStarted } from './lifetime.js';
import { admitsAddress, assertWithinNetworks, normalizeCidrs } from './networks.js';
import { RefusalCounter } from './refusals.js';
import { regeneration } from './regeneration.js';
import { RevocationFeed } from './revocationFeed.js';
import { digestSecret, generateSecret, isWellFormedSecret } from './secrets.js';
import { UnknownDigests } from './unknownDigests.js';
import { UsageRecorder } from './usage.js';

export { DEFAULT_AUTH_CACHE_SIZE };

/** The source of "now", injected so that expiry can be tested without waiting. */
export type Clock = () => Date;

/** An authenticated caller: the token whose secret came with the request. */
export type Caller = TokenRecord;

/** Where a page of the listing starts: after this place in the store's order. */
export type { AuditPage, AuditQuery, ListPosition };

export const BOOTSTRAP_TOKEN_NAME = 'bootstrap-admin';

/** What a new token is made of: its grants as requested (normalized here), its expiry already read. */
export interface TokenRequest extends RequestedCapabilities {
  name: string;
  description?: string | null;
  /** null: never expires. */
  expiresAt: Date | null;
  /** The networks it may be used from, as requested (normalised here); absent, null or empty: anywhere. */
  allowedCidrs?: readonly string[] | null;
  /** When it starts working; absent or null: at once. */
  notBefore?: Date | null;
}

/** The limits the server sets on every token created or regenerated (GET /tokens/policy). */
export interface TokenPolicy {
  /** MAX_TOKEN_LIFETIME in milliseconds; undefined: no cap. */
  maxLifetimeMs: number | undefined;
}

/** How to replace a token; field names are the ones errors name. */
export interface Rotation {
  /** The end of the old token's grace period; never extends its own expiry. */
  existingTokenExpiresAt: Date;
  /** The replacement's name, description and grants; the old token's when absent. */
  newToken?: TokenRequest;
  /** The replacement's expiry (null: never), before newToken's; when both are absent, the old token's. */
  newTokenExpiresAt?: Date | null;
}

/** A new token and its secret: the only place the secret ever appears. */
export interface IssuedToken {
  token: TokenRecord;
  secret: string;
}

/**
 * What verifying a secret found. `EXPIRED`: past its expiry and still stored; `NOT_FOUND`: anything
 * else that is not live (unknown, deleted, replaced past its grace period, not a secret at all).
 */
export type Verdict =
  | { code: 'VALID'; token: TokenRecord }
  | { code: 'INSUFFICIENT_CAPABILITIES'; token: TokenRecord; missing: string[] }
  | { code: 'EXPIRED' }
  | { code: 'NOT_FOUND' }
  /** Live, but before its notBefore. */
  | { code: 'NOT_YET_VALID' }
  /** Live, but bound to networks that do not hold the client's address (or none was given). */
  | { code: 'ADDRESS_NOT_ALLOWED' };

/** A page of tokens and, when more may follow, where the next page starts. */
export interface TokenPage {
  tokens: TokenRecord[];
  next?: ListPosition;
}

const notFound = (id: string) => new TokenError('not_found', `no token ${id}`, ['id']);

/** The caller's token was revoked or expired while its request was in flight: it grants nothing. */
const callerGone = () =>
  new TokenError('unauthenticated', 'the bearer token was revoked or expired before the request completed', [
    'caller',
  ]);

/** Ids are UUIDs, stored in lower case; the spec's uuid format accepts either case. */
const canonicalId = (id: string) => id.toLowerCase();

/** A token may not outlive the token that issues it; `field` is the input its expiry came from. */
const outlivesCaller = (field: readonly string[], callerExpiresAt: Date) =>
  new TokenError(
    'forbidden',
    `cannot outlive the caller's token, which expires at ${callerExpiresAt.toISOString()}`,
    field,
  );

/** Tokens read per store query when a whole listing is streamed. */
const STREAMED_PAGE_SIZE = 1000;

export class TokenService {
  readonly #store: TokenStore;
  readonly #catalog: CapabilityCatalog;
  readonly #clock: Clock;

  /**
   * See AuthCache: exact where this process is the database's sole server; elsewhere (PostgreSQL
   * replicas) on only while the revocation feed is heard, each revocation evicting what it names.
   */
  readonly #cache: AuthCache;
  /** Revocations heard from the store, for the cache and for GET /tokens/revocations. */
  readonly #feed: RevocationFeed;
  readonly #stopListening: () => void;
  /** Digests the store did not know: an unknown secret repeated costs no store read. */
  readonly #unknown = new UnknownDigests();
  readonly #usage: UsageRecorder;
  readonly #refusals: RefusalCounter;
  readonly #onAuditEvent: (event: AuditEvent) => void;
  readonly #maxLifetimeMs: number | undefined;

  constructor(deps: {
    store: TokenStore;
    catalog: CapabilityCatalog;
    clock: Clock;
    authCacheSize?: number;
    /** How long a cached token is trusted (AUTH_CACHE_TTL): the bound should the feed fail unnoticed; 0: no bound. */
    authCacheTtlMs?: number;
    /**
     * Whether the cache is exact only while revocations are heard (other processes share the
     * database): then it is emptied and bypassed while the feed is lost.
     */
    cacheNeedsFeed?: boolean;
    /** Told when the revocation feed is lost (the cache is emptied) and when it is heard again. */
    onFeedChange?: (change: { listening: boolean; err?: Error }) => void;
    /** Told when background writes (last-use times, refusal counts) failed. */
    onBackgroundError?: (err: Error) => void;
    /** Told of each audit event once it is committed, to log it. */
    onAuditEvent?: (event: AuditEvent) => void;
    /** MAX_TOKEN_LIFETIME: the longest a created or regenerated token may live; undefined: no cap. */
    maxLifetimeMs?: number;
  }) {
    this.#maxLifetimeMs = deps.maxLifetimeMs;
    this.#store = deps.store;
    this.#catalog = deps.catalog;
    this.#clock = deps.clock;
    this.#cache = new AuthCache(deps.authCacheSize ?? DEFAULT_AUTH_CACHE_SIZE, deps.authCacheTtlMs ?? 0);
    const needsFeed = deps.cacheNeedsFeed ?? false;
    const onFeedChange = deps.onFeedChange ?? (() => {});
    // Keys are the digests in base64, as #lookup makes them.
    this.#feed = new RevocationFeed((revocation) =>
      this.#cache.forgetKeys(revocation.digests.map((digest) => digest.toString('base64'))),
    );
    // Not trusted until revocations are heard.
    if (needsFeed) this.#cache.reset(false);
    this.#stopListening = deps.store.listenForRevocations({
      revoked: (revocation) => this.#feed.revoked(revocation),
      lost: (err) => {
        this.#cache.reset(!needsFeed);
        this.#feed.lost();
        onFeedChange({ listening: false, err });
      },
      listening: () => {
        // What was read while revocations went unheard may be stale already.
        this.#cache.reset(true);
        this.#feed.listening();
        onFeedChange({ listening: true });
      },
    });
    const onBackgroundError = deps.onBackgroundError ?? (() => {});
    this.#onAuditEvent = deps.onAuditEvent ?? (() => {});
    this.#usage = new UsageRecorder(deps.store, onBackgroundError);
    this.#refusals = new RefusalCounter(deps.store, this.#onAuditEvent, onBackgroundError);
  }

  /** The revocations this process hears, to be read as GET /tokens/revocations. */
  get revocationFeed(): RevocationFeed {
    return this.#feed;
  }

  /** Stops hearing revocations and ends the feed's readers: a clean stop calls it before closing the server. */
  stopFeed(): void {
    this.#stopListening();
    this.#feed.endReaders();
  }

  /** Counts an authentication refused (no, malformed or unknown secret) for the audit trail. */
  countRefusedAuthentication(provenance: Provenance): void {
    this.#refusals.count(provenance, this.#clock());
  }

  /** Writes what is queued in the background (last uses, refusal counts); a clean stop calls it. */
  async flush(): Promise<void> {
    await Promise.all([this.#usage.flush(), this.#refusals.flush()]);
  }

  /** The limits every created or regenerated token is held to. */
  get policy(): TokenPolicy {
    return { maxLifetimeMs: this.#maxLifetimeMs };
  }

  /**
   * The live token a secret belongs to, noting its use; undefined when it is unknown, has expired,
   * or has not started (notBefore): before its start a token is as good as unknown. A token bound
   * to networks that do not hold `address` (the client's; undefined: not known) is refused as
   * forbidden, its networks untold, and its use is not noted.
   */
  async authenticate(secret: string, address?: string): Promise<Caller | undefined> {
    const found = await this.#lookup(secret);
    if (found === undefined || this.#isExpired(found.token) || !hasStarted(found.token, this.#clock()))
      return undefined;
    if (!admitsAddress(found.token.allowedCidrs, address)) {
      throw new TokenError(
        'forbidden',
        `this token may not be used from ${address ?? 'an unknown address'}, which is outside the networks it is bound to`,
        ['caller'],
      );
    }
    return this.#used(found);
  }

  /**
   * Whether `secret` is a live token's and holds everything `required` names (an action on `*`
   * covers every dataset or view). The same lookup as `authenticate`, cache and all, so a token is
   * refused here exactly when it would be refused as a bearer token; a live token's use is noted.
   */
  async verify(
    secret: string,
    required: RequestedCapabilities = {},
    clientAddress?: string,
  ): Promise<Verdict> {
    const found = await this.#lookup(secret);
    if (found === undefined) return { code: 'NOT_FOUND' };
    // A replaced token whose grace period is over is gone, as far as anyone outside is concerned.
    if (this.#isExpired(found.token))
      return { code: found.token.replacedBy === null ? 'EXPIRED' : 'NOT_FOUND' };
    if (!hasStarted(found.token, this.#clock())) return { code: 'NOT_YET_VALID' };
    // A bound token is never valid from nowhere: without the client's address it is refused too.
    if (!admitsAddress(found.token.allowedCidrs, clientAddress)) return { code: 'ADDRESS_NOT_ALLOWED' };
    const token = this.#used(found);
    const missing = missingCapabilities(token, normalizeCapabilities(this.#catalog, required));
    return missing.length === 0
      ? { code: 'VALID', token }
      : { code: 'INSUFFICIENT_CAPABILITIES', token, missing };
  }

  /**
   * The token a secret belongs to, expired or not, from the cache or the store, and its key in the
   * cache (the secret's digest).
   */
  async #lookup(secret: string): Promise<{ token: TokenRecord; key: string } | undefined> {
    // What cannot be a secret of ours (format, checksum) is refused before any store read.
    if (!isWellFormedSecret(secret)) return undefined;
    const digest = digestSecret(secret);
    const key = digest.toString('base64');
    if (this.#unknown.has(key)) return undefined;
    const generation = this.#unknown.generation;
    const token = await this.#cache.read(key, () => this.#store.findByDigest(digest));
    if (token === undefined) this.#unknown.remember(key, generation);
    return token === undefined ? undefined : { token, key };
  }

  /**
   * Notes a use of a live token now. When that use is to be written, the cached record takes it as
   * its last use too, so what a cached token answers (verify) trails its latest use by at most a
   * minute, as the store's copy does.
   */
  #used({ token, key }: { token: TokenRecord; key: string }): TokenRecord {
    const now = this.#clock();
    if (!this.#usage.note(token, now)) return token;
    const used = { ...token, lastUsedAt: now };
    this.#cache.update(key, token, used);
    return used;
  }

  /** Creates a token holding at most what `caller` holds; the answer is the only place its secret appears. */
  async createToken(caller: Caller, request: TokenRequest, provenance?: Provenance): Promise<IssuedToken> {
    this.#assertFuture(['expiresAt'], request.expiresAt);
    const token = this.#newToken(caller, request, { expiresAt: request.expiresAt, field: ['expiresAt'] });
    const secret = generateSecret();
    const event = auditEvent('token.created', {
      time: token.createdAt,
      actor: tokenRef(caller),
      target: tokenRef(token),
      provenance,
      details: grantsOf(token),
    });
    const outcome = await this.#store.insert(
      token,
      digestSecret(secret),
      issuedBy({ id: caller.id, now: this.#clock() }),
      event,
    );
    if (outcome === 'issuer_gone') throw callerGone();
    // The caller's expiry was cut (regenerated) since it was authenticated.
    if (isOutlivesIssuer(outcome)) throw outlivesCaller(['expiresAt'], outcome.outlivesIssuer);
    this.#onAuditEvent(event);
    return { token, secret };
  }

  async getToken(id: string): Promise<TokenRecord> {
    const token = await this.#store.findById(canonicalId(id), this.#clock());
    if (token === undefined) throw notFound(id);
    return token;
  }

  /** A page of the audit trail, newest first. */
  async auditEvents(query: AuditQuery): Promise<AuditPage> {
    return this.#store.listAuditEvents(query);
  }

  /** The caller's own token as stored now; refused as unauthenticated if it is gone since it was authenticated. */
  async getCallerToken(caller: Caller): Promise<TokenRecord> {
    const token = await this.#store.findById(caller.id, this.#clock());
    if (token === undefined) throw callerGone();
    return token;
  }

  /**
   * Up to `limit` live tokens in the order they were stored, oldest first. A page can hold fewer
   * (even none) and still have a next one: the store reads past a bounded number of expired tokens
   * per page (see ListPage).
   */
  async listTokens({ limit, after }: { limit: number; after?: ListPosition }): Promise<TokenPage> {
    const page = await this.#store.list({ now: this.#clock(), after, limit });
    return { tokens: page.tokens.map((listed) => listed.token), next: page.next };
  }

  /**
   * Every live token after `after`, a page at a time: what a listing without `limit` answers,
   * without holding a million tokens in memory at once. Each page is its own store read.
   */
  async *pagesOfTokens(after?: ListPosition): AsyncGenerator<TokenRecord[]> {
    let next = after;
    do {
      const page = await this.listTokens({ limit: STREAMED_PAGE_SIZE, after: next });
      yield page.tokens;
      next = page.next;
    } while (next !== undefined);
  }

  /**
   * Deletes a live token; `by` names who asked, for the audit trail and the rule: a caller may
   * delete itself, or a token holding nothing it lacks (see tokens/deletion.ts).
   */
  async deleteToken(requestedId: string, by?: { caller: Caller; provenance: Provenance }): Promise<void> {
    const id = canonicalId(requestedId);
    const now = this.#clock();
    // Forget before (a read racing the change is not cached) and after (one that cached meanwhile is dropped).
    this.#cache.forget(id);
    const outcome = await this.#store.write(
      deletion({
        id,
        now,
        by: by?.caller,
        event: (target) =>
          auditEvent('token.deleted', {
            time: now,
            actor: by === undefined ? null : tokenRef(by.caller),
            target: tokenRef(target),
            provenance: by?.provenance,
          }),
      }),
    );
    this.#cache.forget(id);
    if (outcome === 'not_found') throw notFound(id);
    if (outcome === 'issuer_gone') throw callerGone();
    if ('refused' in outcome) throw outcome.refused;
    if (outcome.deleted !== undefined) this.#onAuditEvent(outcome.deleted);
  }

  /**
   * Revokes at once every live token among `secrets`, reported as leaked: whoever holds a secret
   * may end it (possession proves authority, as with GitHub's secret-scanning partner alerts). What
   * is not a live token's secret is passed over in silence, so the reporter learns nothing.
   */
  async revokeLeakedSecrets(secrets: readonly string[], source: string | undefined, provenance: Provenance) {
    for (const secret of new Set(secrets)) {
      const found = await this.#lookup(secret);
      if (found === undefined || this.#isExpired(found.token)) continue;
      const now = this.#clock();
      const id = found.token.id;
      this.#cache.forget(id);
      const outcome = await this.#store.write(
        deletion({
          id,
          now,
          event: (target) =>
            auditEvent('token.leaked', {
              time: now,
              target: tokenRef(target),
              provenance,
              details: { source: source ?? null },
            }),
        }),
      );
      this.#cache.forget(id);
      if (typeof outcome === 'object' && 'deleted' in outcome && outcome.deleted !== undefined) {
        this.#onAuditEvent(outcome.deleted);
      }
    }
  }

  /**
   * Replaces a token with a new one (new id, new secret); the old secret works until
   * `existingTokenExpiresAt`. The caller must hold everything the replacement gets, copied or not:
   * it receives the replacement's secret.
   */
  async regenerateToken(
    caller: Caller,
    requestedId: string,
    rotation: Rotation,
    provenance?: Provenance,
  ): Promise<IssuedToken> {
    const id = canonicalId(requestedId);
    const old = await this.#store.findById(id, this.#clock());
    if (old === undefined) throw notFound(id);
    // Regenerating ends the old token (at the grace period), as deleting does.
    const refused = refuseEnding(caller, old, 'regenerate');
    if (refused !== undefined) throw refused;

    const { newToken, newTokenExpiresAt } = rotation;
    // The replacement's expiry, and the field to name if it is refused.
    const expiry =
      newTokenExpiresAt !== undefined
        ? { expiresAt: newTokenExpiresAt, field: ['newTokenExpiresAt'] }
        : newToken !== undefined
          ? { expiresAt: newToken.expiresAt, field: ['newToken', 'expiresAt'] }
          : { expiresAt: old.expiresAt, field: ['newTokenExpiresAt'] };
    if (newTokenExpiresAt !== undefined || newToken !== undefined) {
      this.#assertFuture(expiry.field, expiry.expiresAt);
    }
    const replacement =
      newToken !== undefined
        ? this.#newToken(caller, newToken, expiry, ['newToken'])
        : // A copy starts when the old token did, unless that has come: then at once, as the old one
          // already acts, so that a start in the past is never held against a later-starting caller.
          this.#newToken(
            caller,
            { ...old, notBefore: hasStarted(old, this.#clock()) ? null : old.notBefore },
            expiry,
          );

    const secret = generateSecret();
    const event = auditEvent('token.regenerated', {
      time: replacement.createdAt,
      actor: tokenRef(caller),
      target: tokenRef(old),
      provenance,
      details: {
        existingTokenExpiresAt: rotation.existingTokenExpiresAt.toISOString(),
        replacement: { ...tokenRef(replacement), ...grantsOf(replacement) },
      },
    });
    this.#cache.forget(id);
    const outcome = await this.#store.write(
      regeneration({
        id,
        now: this.#clock(),
        issuer: { id: caller.id, now: this.#clock() },
        existingTokenExpiresAt: rotation.existingTokenExpiresAt,
        replacement,
        replacementSecretDigest: digestSecret(secret),
        event,
      }),
    );
    this.#cache.forget(id); // its expiry has changed
    if (outcome === 'issuer_gone') throw callerGone();
    // The caller's expiry was cut (regenerated) since it was authenticated.
    if (isOutlivesIssuer(outcome)) throw outlivesCaller(expiry.field, outcome.outlivesIssuer);
    if (outcome === 'not_found') throw notFound(id);
    if (typeof outcome === 'object' && 'refused' in outcome) throw outcome.refused;
    if (outcome === 'already_regenerated') {
      throw new TokenError(
        'conflict',
        `token ${id} has already been regenerated; regenerate its replacement instead`,
        ['id'],
      );
    }
    this.#onAuditEvent(event);
    return { token: replacement, secret };
  }

  /**
   * On a new store, creates the admin token holding every capability, with `secret` when given
   * (BOOTSTRAP_TOKEN) or a fresh one. Returns the secret only when this call generated it, so the
   * caller can show it once; undefined when the store has ever had tokens (a deleted bootstrap
   * token is not recreated by a restart).
   */
  async bootstrap(secret?: string): Promise<{ generatedSecret?: string } | undefined> {
    const value = secret ?? generateSecret();
    const token = this.#adminToken(
      BOOTSTRAP_TOKEN_NAME,
      'Created at first start; holds every capability. Create narrower tokens with it.',
    );
    const event = auditEvent('token.bootstrapped', {
      time: token.createdAt,
      target: tokenRef(token),
      details: { ...grantsOf(token), secret: secret === undefined ? 'generated' : 'BOOTSTRAP_TOKEN' },
    });
    const inserted = await this.#store.writeOnce(
      bootstrapOnce({ token, secretDigest: digestSecret(value), now: this.#clock(), event }),
    );
    // A chosen secret (BOOTSTRAP_TOKEN, here or on the replica that stored it first) may have been
    // tried, and remembered as unknown, before it was stored.
    this.#unknown.clear();
    if (!inserted) return undefined;
    this.#onAuditEvent(event);
    return secret === undefined ? { generatedSecret: value } : {};
  }

  /**
   * A new token holding every capability, never expiring, on no caller's authority: for an operator
   * with access to the store who has lost every admin secret (`api-tokens admin recover`).
   */
  async recoverAdmin(name: string, description: string): Promise<IssuedToken> {
    const token = this.#adminToken(name, description);
    const secret = generateSecret();
    const event = auditEvent('token.recovered', {
      time: token.createdAt,
      target: tokenRef(token),
      details: grantsOf(token),
    });
    const outcome = await this.#store.insert(token, digestSecret(secret), undefined, event);
    this.#unknown.clear();
    // Without an issuer nothing can refuse the insert.
    if (outcome !== 'inserted')
      throw new Error(`recoverAdmin: unexpected insert outcome ${JSON.stringify(outcome)}`);
    return { token, secret };
  }

  /** A token holding every capability the catalog knows, on `*` for datasets and views, never expiring. */
  #adminToken(name: string, description: string): TokenRecord {
    return {
      id: randomUUID(),
      name,
      description,
      expiresAt: null,
      createdAt: this.#clock(),
      lastUsedAt: null,
      replacedBy: null,
      allowedCidrs: [],
      notBefore: null,
      ...allCapabilities(this.#catalog),
    };
  }

  /**
   * A new token from a create request, no stronger than `caller`: no capability it lacks, and no
   * life beyond its own (a token that expires cannot issue one that outlives it; checked here
   * against the caller as authenticated, and again by the store at commit). `location` is where the
   * request sits among the inputs (`['newToken']` in a rotation), `expiry.field` the input its
   * expiry came from.
   */
  #newToken(
    caller: Caller,
    request: TokenRequest,
    expiry: { expiresAt: Date | null; field: readonly string[] },
    location: readonly string[] = [],
  ): TokenRecord {
    const { expiresAt } = expiry;
    const notBefore = request.notBefore ?? null;
    let capabilities: ReturnType<typeof normalizeCapabilities>;
    let allowedCidrs: string[];
    try {
      capabilities = normalizeCapabilities(this.#catalog, request);
      assertGrantable(caller, capabilities);
      allowedCidrs = normalizeCidrs(request.allowedCidrs);
      // A caller's networks never change once it is stored, so the caller as authenticated is the
      // caller at commit: unlike its expiry, this needs no second look under lock.
      assertWithinNetworks(caller.allowedCidrs, allowedCidrs);
    } catch (err) {
      throw err instanceof TokenError ? err.at(location) : err;
    }
    if (caller.expiresAt !== null && (expiresAt === null || expiresAt > caller.expiresAt)) {
      throw outlivesCaller(expiry.field, caller.expiresAt);
    }
    assertStart(notBefore, expiresAt, caller.notBefore, {
      notBefore: [...location, 'notBefore'],
      expiresAt: expiry.field,
    });
    assertWithinLifetime(expiresAt, this.#clock(), this.#maxLifetimeMs, expiry.field);
    return {
      id: randomUUID(),
      name: request.name,
      description: request.description ?? '',
      expiresAt,
      createdAt: this.#clock(),
      lastUsedAt: null,
      replacedBy: null,
      allowedCidrs,
      notBefore,
      ...capabilities,
    };
  }

  #isExpired(token: TokenRecord): boolean {
    return !isLive(token, this.#clock());
  }

  /** A requested expiry must be in the future; null (never) always is. */
  #assertFuture(field: readonly string[], expiresAt: Date | null): void {
    if (expiresAt !== null && expiresAt.getTime() <= this.#clock().getTime()) {
      throw new TokenError('invalid', 'must be in the future', field);
    }
  }
}
