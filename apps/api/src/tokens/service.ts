// The token rules: who a secret belongs to, what a caller may create or rotate, and the first (bootstrap) token.
import { randomUUID } from 'node:crypto';
import type {
  ApiToken,
  CreateApiToken,
  CreateApiTokenResponse,
  RegenerateApiToken,
} from '@api-tokens/client';
import { ApiError, badRequest, forbidden } from '../errors.js';
import type { ListPosition, OutlivesIssuer, TokenRecord, TokenStore } from '../store/store.js';
import {
  allCapabilities,
  assertGrantable,
  type CapabilityCatalog,
  normalizeCapabilities,
} from './capabilities.js';
import { digestSecret, generateSecret } from './secrets.js';

/** The source of "now", injected so that expiry can be tested without waiting. */
export type Clock = () => Date;

/** An authenticated caller: the token whose secret came with the request. */
export type Caller = TokenRecord;

export const BOOTSTRAP_TOKEN_NAME = 'bootstrap-admin';

/** The last instant an RFC 3339 date-time can name in UTC. */
const LAST_RFC3339_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');

/** Go's zero time.Time, which Axiom's Go client sends for "no expiry". */
const GO_ZERO_TIME = new Date('0001-01-01T00:00:00Z').getTime();

/** How a token is answered, everywhere: the wire shape of `APIToken`, dates in RFC 3339 UTC with milliseconds. */
export function presentToken(token: TokenRecord): ApiToken {
  return {
    id: token.id,
    name: token.name,
    description: token.description,
    expiresAt: token.expiresAt?.toISOString() ?? null,
    datasetCapabilities: token.datasetCapabilities,
    orgCapabilities: token.orgCapabilities,
    viewCapabilities: token.viewCapabilities,
    samlAuthenticated: false,
  };
}

/** A page of tokens and, when more follow, the cursor of the next page. */
export interface TokenPage {
  tokens: ApiToken[];
  nextCursor?: string;
}

const notFound = (id: string) => new ApiError(404, `id: no token ${id}`);

/** The caller's token was revoked or expired while its request was in flight: it grants nothing. */
const callerGone = () =>
  new ApiError(401, 'Authorization: the bearer token was revoked or expired before the request completed');

/** Ids are UUIDs, stored in lower case; the spec's uuid format accepts either case. */
const canonicalId = (id: string) => id.toLowerCase();

/** A token may not outlive the token that issues it; `field` is where the request set its expiry. */
const outlivesCaller = (field: string, callerExpiresAt: Date) =>
  forbidden(`${field}: cannot outlive the caller's token, which expires at ${callerExpiresAt.toISOString()}`);

const isOutlivesIssuer = (outcome: unknown): outcome is OutlivesIssuer =>
  typeof outcome === 'object' && outcome !== null && 'outlivesIssuer' in outcome;

/** Cursors are opaque to clients: base64url of "p<position>". */
function encodeCursor(position: ListPosition): string {
  return Buffer.from(`p${position}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): ListPosition {
  const match = /^p(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (match?.[1] === undefined) {
    throw badRequest(
      'query.cursor: not a cursor this server gave out; pass the one from the Link header unchanged',
    );
  }
  return Number(match[1]);
}

/** Tokens read per store query when a whole listing is streamed. */
const STREAMED_PAGE_SIZE = 1000;

/** How many authenticated tokens to keep in memory by default (AUTH_CACHE_SIZE). */
export const DEFAULT_AUTH_CACHE_SIZE = 10_000;

export class TokenService {
  readonly #store: TokenStore;
  readonly #catalog: CapabilityCatalog;
  readonly #clock: Clock;

  /**
   * Recently authenticated tokens by secret digest, least recently used first, so that a token
   * used on every call costs no store read. Exact within this process: delete and regenerate drop
   * the entry before they answer, expiry is checked on every use, and a read that raced with
   * either is not cached (see #forgetEpoch). Only this process's changes are seen, which is all
   * there are: index.ts claims the database for this process alone while the cache is on (store/claim.ts).
   */
  readonly #authenticated = new Map<string, TokenRecord>();
  readonly #digestById = new Map<string, string>();
  readonly #cacheSize: number;
  /** Bumped whenever an entry is dropped: a store read that started before must not be cached. */
  #forgetEpoch = 0;

  constructor(deps: { store: TokenStore; catalog: CapabilityCatalog; clock: Clock; authCacheSize?: number }) {
    this.#store = deps.store;
    this.#catalog = deps.catalog;
    this.#clock = deps.clock;
    this.#cacheSize = deps.authCacheSize ?? DEFAULT_AUTH_CACHE_SIZE;
  }

  /** The live token a secret belongs to; undefined when it is unknown or has expired. */
  async authenticate(secret: string): Promise<Caller | undefined> {
    const digest = digestSecret(secret);
    const key = digest.toString('base64');
    let token = this.#authenticated.get(key);
    if (token !== undefined) {
      // Refresh its place: the least recently used entry is the one evicted.
      this.#authenticated.delete(key);
      this.#authenticated.set(key, token);
    } else {
      const epoch = this.#forgetEpoch;
      token = await this.#store.findByDigest(digest);
      if (token !== undefined && epoch === this.#forgetEpoch) this.#remember(key, token);
    }
    if (token === undefined || this.#isExpired(token)) return undefined;
    return token;
  }

  #remember(key: string, token: TokenRecord): void {
    if (this.#cacheSize <= 0) return;
    this.#authenticated.set(key, token);
    this.#digestById.set(token.id, key);
    if (this.#authenticated.size > this.#cacheSize) {
      const [oldestKey, oldest] = this.#authenticated.entries().next().value as [string, TokenRecord];
      this.#authenticated.delete(oldestKey);
      this.#digestById.delete(oldest.id);
    }
  }

  /** Drops a token from the cache; called before a change to it is answered. */
  #forget(id: string): void {
    this.#forgetEpoch++;
    const key = this.#digestById.get(id);
    if (key === undefined) return;
    this.#authenticated.delete(key);
    this.#digestById.delete(id);
  }

  /** Creates a token holding at most what `caller` holds; the answer is the only place its secret appears. */
  async createToken(caller: Caller, request: CreateApiToken): Promise<CreateApiTokenResponse> {
    const expiresAt = this.#parseExpiry('body.expiresAt', request.expiresAt);
    const token = this.#newToken(caller, request, { expiresAt, field: 'body.expiresAt' }, 'body.');
    const secret = generateSecret();
    const outcome = await this.#store.insert(token, digestSecret(secret), {
      id: caller.id,
      now: this.#clock(),
    });
    if (outcome === 'issuer_gone') throw callerGone();
    // The caller's expiry was cut (regenerated) since it was authenticated.
    if (isOutlivesIssuer(outcome)) throw outlivesCaller('body.expiresAt', outcome.outlivesIssuer);
    return { ...presentToken(token), token: secret };
  }

  async getToken(id: string): Promise<ApiToken> {
    const token = await this.#store.findById(canonicalId(id), this.#clock());
    if (token === undefined) throw notFound(id);
    return presentToken(token);
  }

  /**
   * Up to `limit` live tokens in the order they were stored, oldest first. A page can hold fewer
   * (even none) and still have a next one: the store reads past a bounded number of expired tokens
   * per page (see ListPage).
   */
  async listTokens({ limit, cursor }: { limit: number; cursor?: string }): Promise<TokenPage> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const page = await this.#store.list({ now: this.#clock(), after, limit });
    return {
      tokens: page.tokens.map((listed) => presentToken(listed.token)),
      nextCursor: page.next === undefined ? undefined : encodeCursor(page.next),
    };
  }

  /**
   * Every live token from `cursor` on, a page at a time: what a listing without `limit` answers,
   * without holding a million tokens in memory at once. Each page is its own store read.
   */
  async *pagesOfTokens(cursor?: string): AsyncGenerator<ApiToken[]> {
    let next = cursor;
    do {
      const page = await this.listTokens({ limit: STREAMED_PAGE_SIZE, cursor: next });
      yield page.tokens;
      next = page.nextCursor;
    } while (next !== undefined);
  }

  async deleteToken(requestedId: string): Promise<void> {
    const id = canonicalId(requestedId);
    // Forget before (a read racing the change is not cached) and after (one that cached meanwhile is dropped).
    this.#forget(id);
    const deleted = await this.#store.delete(id, this.#clock());
    this.#forget(id);
    if (!deleted) throw notFound(id);
  }

  /**
   * Replaces a token with a new one (new id, new secret); the old secret works until
   * `existingTokenExpiresAt`. The caller must hold everything the replacement gets, copied or not:
   * it receives the replacement's secret.
   */
  async regenerateToken(
    caller: Caller,
    requestedId: string,
    request: RegenerateApiToken,
  ): Promise<CreateApiTokenResponse> {
    const id = canonicalId(requestedId);
    const existingTokenExpiresAt = this.#parseDate(
      'body.existingTokenExpiresAt',
      request.existingTokenExpiresAt,
    );
    const old = await this.#store.findById(id, this.#clock());
    if (old === undefined) throw notFound(id);
    // Regenerating ends the old token (at the grace period): only a caller that could have issued
    // it may, or apiTokens:update alone would revoke any token, the only admin included.
    assertGrantable(caller, old, 'id: cannot regenerate a token holding more than the caller: ');

    const template: CreateApiToken = request.newToken ?? {
      name: old.name,
      description: old.description,
      datasetCapabilities: old.datasetCapabilities,
      orgCapabilities: old.orgCapabilities,
      viewCapabilities: old.viewCapabilities,
    };
    // The replacement's expiry, and the field to name if it is refused.
    const expiry =
      request.newTokenExpiresAt !== undefined
        ? {
            expiresAt: this.#parseExpiry('body.newTokenExpiresAt', request.newTokenExpiresAt),
            field: 'body.newTokenExpiresAt',
          }
        : request.newToken != null
          ? {
              expiresAt: this.#parseExpiry('body.newToken.expiresAt', request.newToken.expiresAt),
              field: 'body.newToken.expiresAt',
            }
          : { expiresAt: old.expiresAt, field: 'body.newTokenExpiresAt' };
    const replacement = this.#newToken(
      caller,
      template,
      expiry,
      request.newToken != null ? 'body.newToken.' : 'body.',
    );

    const secret = generateSecret();
    this.#forget(id);
    const outcome = await this.#store.regenerate({
      id,
      now: this.#clock(),
      issuer: { id: caller.id, now: this.#clock() },
      existingTokenExpiresAt,
      replacement,
      replacementSecretDigest: digestSecret(secret),
    });
    this.#forget(id); // its expiry has changed
    if (outcome === 'issuer_gone') throw callerGone();
    // The caller's expiry was cut (regenerated) since it was authenticated.
    if (isOutlivesIssuer(outcome)) throw outlivesCaller(expiry.field, outcome.outlivesIssuer);
    if (outcome === 'not_found') throw notFound(id);
    if (outcome === 'already_regenerated') {
      throw new ApiError(
        409,
        `id: token ${id} has already been regenerated; regenerate its replacement instead`,
      );
    }
    return { ...presentToken(replacement), token: secret };
  }

  /**
   * On a new store, creates the admin token holding every capability, with `secret` when given
   * (BOOTSTRAP_TOKEN) or a fresh one. Returns the secret only when this call generated it, so the
   * caller can show it once; undefined when the store has ever had tokens (a deleted bootstrap
   * token is not recreated by a restart).
   */
  async bootstrap(secret?: string): Promise<{ generatedSecret?: string } | undefined> {
    const value = secret ?? generateSecret();
    const token: TokenRecord = {
      id: randomUUID(),
      name: BOOTSTRAP_TOKEN_NAME,
      description: 'Created at first start; holds every capability. Create narrower tokens with it.',
      expiresAt: null,
      createdAt: this.#clock(),
      ...allCapabilities(this.#catalog),
    };
    if (!(await this.#store.insertFirst(token, digestSecret(value)))) return undefined;
    return secret === undefined ? { generatedSecret: value } : {};
  }

  /**
   * A new token from a create request, no stronger than `caller`: no capability it lacks, and no
   * life beyond its own (a token that expires cannot issue one that outlives it; checked here
   * against the caller as authenticated, and again by the store at commit). `field` locates errors
   * in the body ('body.' or 'body.newToken.'), `expiry.field` the field the expiry came from.
   */
  #newToken(
    caller: Caller,
    request: CreateApiToken,
    expiry: { expiresAt: Date | null; field: string },
    field: string,
  ): TokenRecord {
    const { expiresAt } = expiry;
    const capabilities = normalizeCapabilities(this.#catalog, request);
    assertGrantable(caller, capabilities, field);
    if (caller.expiresAt !== null && (expiresAt === null || expiresAt > caller.expiresAt)) {
      throw outlivesCaller(expiry.field, caller.expiresAt);
    }
    return {
      id: randomUUID(),
      name: request.name,
      description: request.description ?? '',
      expiresAt,
      createdAt: this.#clock(),
      ...capabilities,
    };
  }

  #isExpired(token: TokenRecord): boolean {
    return token.expiresAt !== null && token.expiresAt.getTime() <= this.#clock().getTime();
  }

  /** An RFC 3339 date-time the spec's DateTime pattern has let through, as a Date. */
  #parseDate(field: string, value: string): Date {
    // Date cannot parse a leap second; RFC 3339's 23:59:60 is the instant the next minute starts.
    const leap = /^(.*[Tt]\d\d:\d\d:)60(\.\d+)?(.*)$/.exec(value);
    const date = leap
      ? new Date(new Date(`${leap[1]}59${leap[2] ?? ''}${leap[3]}`).getTime() + 1000)
      : new Date(value);
    if (Number.isNaN(date.getTime())) throw badRequest(`${field}: not a valid RFC 3339 date-time`);
    // Beyond this, toISOString() answers a six-digit year, which is no RFC 3339 date-time.
    if (date.getTime() > LAST_RFC3339_INSTANT)
      throw badRequest(`${field}: must be before the year 10000 in UTC`);
    return date;
  }

  /** A requested expiry: null for never (null, absent, or Go's zero time), else a date in the future. */
  #parseExpiry(field: string, value: string | null | undefined): Date | null {
    if (value == null) return null;
    const date = this.#parseDate(field, value);
    if (date.getTime() === GO_ZERO_TIME) return null;
    if (date.getTime() <= this.#clock().getTime()) throw badRequest(`${field}: must be in the future`);
    return date;
  }
}
