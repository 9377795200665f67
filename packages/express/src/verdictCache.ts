// Verdicts remembered for a while, keyed by a SHA-256 digest of the secret: never the secret itself.
import { createHash } from 'node:crypto';
import type { ApiTokenVerdict } from '@api-tokens/client';
import { LRUCache } from 'lru-cache';

/** A secret's digest as the revocation feed names it: base64url SHA-256. */
export const digestOf = (secret: string): string => createHash('sha256').update(secret).digest('base64url');

/** The key of a secret, what was required of it and where it came from: the secret's digest, never the secret. */
export function cacheKey(secret: string, required: unknown, clientAddress?: string): string {
  return `${digestOf(secret)} ${JSON.stringify(required ?? null)} ${clientAddress ?? ''}`;
}

/** The digest a key starts with. */
const digestOfKey = (key: string) => key.slice(0, key.indexOf(' '));

/**
 * How long a revoked digest is remembered (its tombstone), during which no verdict saying that its
 * token lives is kept. The feed can reach this guard from one replica before another replica, which
 * the next verification may reach, has processed the same revocation: that one may still answer
 * VALID from its own authentication cache, and without the tombstone the guard would keep that
 * answer for `cacheTtlMs`. So this must exceed how long a replica can lag behind the feed: a
 * replica evicts as it hears the NOTIFY (the propagation target is p99 under 100 ms, at most 1 s),
 * and one whose LISTEN connection drops stops caching. One minute is sixty times that bound, and
 * short enough that tombstones stay a small set. (A replica whose LISTEN connection died without
 * noticing is bounded by its own AUTH_CACHE_TTL, which nothing here can shorten.)
 */
export const TOMBSTONE_MS = 60_000;

/** The verdicts that say a token is gone for good: true of a revoked digest, so they may be kept. */
const GONE = new Set<ApiTokenVerdict['code']>(['NOT_FOUND', 'EXPIRED']);

/**
 * A bounded map of verdicts, each kept for at most `ttlMs`, and a valid one never past its token's
 * `expiresAt`. Past `maxEntries`, the least recently used entry goes. An lru-cache with a TTL per
 * entry, read against Date.now() (the clock `expiresAt` is compared with, and the one tests move).
 * Revoked digests are remembered for TOMBSTONE_MS, at most `maxEntries` of them, and no verdict
 * that their token lives is kept meanwhile.
 */
export class VerdictCache {
  readonly #entries: LRUCache<string, ApiTokenVerdict> | undefined;
  /** The keys held for each digest (one per requirement), so that a revocation finds them all. */
  readonly #keysByDigest = new Map<string, Set<string>>();
  /** Bumped whenever entries are dropped: a verdict asked for before must not be kept. */
  #epoch = 0;
  /** False while what is cached cannot be trusted (the revocation feed is lost): nothing is read or kept. */
  #trusted = true;
  /** Digests revoked within TOMBSTONE_MS, each with when its revocation was heard (Date.now()). */
  readonly #tombstones: LRUCache<string, number> | undefined;
  /**
   * Until when no verdict that a token lives is kept for any digest: set when a tombstone is pushed
   * out by newer ones before its time (more than `maxEntries` revocations within TOMBSTONE_MS), as
   * its digest can no longer be told apart.
   */
  #livingRefusedUntil = 0;

  constructor(
    readonly ttlMs: number,
    readonly maxEntries: number,
  ) {
    if (ttlMs <= 0 || maxEntries <= 0) return;
    this.#entries = new LRUCache<string, ApiTokenVerdict>({
      max: maxEntries,
      perf: { now: () => Date.now() },
      // Read the clock on every look-up: lru-cache would otherwise reuse a reading for a millisecond
      // and keep a timer to forget it.
      ttlResolution: 0,
      dispose: (_verdict, key) => {
        const digest = digestOfKey(key);
        const keys = this.#keysByDigest.get(digest);
        keys?.delete(key);
        if (keys?.size === 0) this.#keysByDigest.delete(digest);
      },
    });
    this.#tombstones = new LRUCache<string, number>({
      max: maxEntries,
      // Stale once older than its ttl (see set): gone from TOMBSTONE_MS on.
      ttl: TOMBSTONE_MS - 1,
      perf: { now: () => Date.now() },
      ttlResolution: 0,
      dispose: (revokedAt, _digest, reason) => {
        // lru-cache evicts the oldest whether or not its time is up: only a live tombstone counts.
        if (reason === 'evict' && revokedAt + TOMBSTONE_MS > Date.now()) {
          this.#livingRefusedUntil = Math.max(this.#livingRefusedUntil, revokedAt + TOMBSTONE_MS);
        }
      },
    });
  }

  /** Where verdicts stand now: pass it to `set`, which keeps nothing if entries were dropped since. */
  get epoch(): number {
    return this.#epoch;
  }

  /**
   * Drops every verdict for these digests (revoked secrets), and keeps none that says their token
   * lives for TOMBSTONE_MS: a replica that has not yet heard of the revocation may still say so.
   */
  forgetDigests(digests: readonly string[]): void {
    this.#epoch++;
    const now = Date.now();
    for (const digest of digests) {
      this.#tombstones?.set(digest, now);
      for (const key of [...(this.#keysByDigest.get(digest) ?? [])]) this.#entries?.delete(key);
    }
  }

  /**
   * Drops every verdict; with `trusted` false, keeps and answers none until trusted again.
   * Tombstones stay: what they say of revoked digests is still true.
   */
  reset(trusted: boolean): void {
    this.#epoch++;
    this.#trusted = trusted;
    this.#entries?.clear();
  }

  get size(): number {
    return this.#entries?.size ?? 0;
  }

  get(key: string): ApiTokenVerdict | undefined {
    return this.#trusted ? this.#entries?.get(key) : undefined;
  }

  /**
   * Remembers a final verdict, asked for at `epoch` (see `epoch`), unless entries were dropped since:
   * a revocation may have crossed it. RATE_LIMITED and NOT_YET_VALID say nothing lasting (a token's
   * start may come within the ttl), so they are never kept. For a digest revoked within
   * TOMBSTONE_MS, only a verdict that its token is gone (NOT_FOUND, EXPIRED) is kept: any other may
   * come from a replica that has not yet heard of the revocation. (A token whose expiry was only
   * brought forward still lives; it is verified on every request until its tombstone ends.)
   */
  set(key: string, verdict: ApiTokenVerdict, epoch = this.#epoch): void {
    if (this.#entries === undefined || verdict.code === 'RATE_LIMITED' || verdict.code === 'NOT_YET_VALID')
      return;
    if (!this.#trusted || epoch !== this.#epoch) return;
    const now = Date.now();
    if (
      !GONE.has(verdict.code) &&
      (now < this.#livingRefusedUntil || this.#tombstones?.has(digestOfKey(key)))
    )
      return;
    let staleAt = now + this.ttlMs;
    if ('token' in verdict && verdict.token.expiresAt !== null) {
      staleAt = Math.min(staleAt, Date.parse(verdict.token.expiresAt));
    }
    // lru-cache calls an entry stale once it is older than its ttl; this one is stale from staleAt
    // on, so in whole milliseconds its ttl is one less. Under 1 lru-cache would keep it for ever.
    const ttl = staleAt - now - 1;
    if (ttl < 1) {
      this.#entries.delete(key);
      return;
    }
    this.#entries.set(key, verdict, { ttl });
    const digest = digestOfKey(key);
    const keys = this.#keysByDigest.get(digest) ?? new Set<string>();
    keys.add(key);
    this.#keysByDigest.set(digest, keys);
  }

  /** The keys held, least recently used first (for tests: they must never hold a secret). */
  keys(): string[] {
    return [...(this.#entries?.rkeys() ?? [])];
  }
}
