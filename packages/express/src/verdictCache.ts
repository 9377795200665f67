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
 * A bounded map of verdicts, each kept for at most `ttlMs`, and a valid one never past its token's
 * `expiresAt`. Past `maxEntries`, the least recently used entry goes. An lru-cache with a TTL per
 * entry, read against Date.now() (the clock `expiresAt` is compared with, and the one tests move).
 */
export class VerdictCache {
  readonly #entries: LRUCache<string, ApiTokenVerdict> | undefined;
  /** The keys held for each digest (one per requirement), so that a revocation finds them all. */
  readonly #keysByDigest = new Map<string, Set<string>>();
  /** Bumped whenever entries are dropped: a verdict asked for before must not be kept. */
  #epoch = 0;
  /** False while what is cached cannot be trusted (the revocation feed is lost): nothing is read or kept. */
  #trusted = true;

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
  }

  /** Where verdicts stand now: pass it to `set`, which keeps nothing if entries were dropped since. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Drops every verdict for these digests (revoked secrets). */
  forgetDigests(digests: readonly string[]): void {
    this.#epoch++;
    for (const digest of digests) {
      for (const key of [...(this.#keysByDigest.get(digest) ?? [])]) this.#entries?.delete(key);
    }
  }

  /** Drops every verdict; with `trusted` false, keeps and answers none until trusted again. */
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
   * start may come within the ttl), so they are never kept.
   */
  set(key: string, verdict: ApiTokenVerdict, epoch = this.#epoch): void {
    if (this.#entries === undefined || verdict.code === 'RATE_LIMITED' || verdict.code === 'NOT_YET_VALID')
      return;
    if (!this.#trusted || epoch !== this.#epoch) return;
    const now = Date.now();
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
