// The authentication cache: recently authenticated tokens by secret digest, so that a token used on every call costs no store read.
import type { TokenRecord } from '../model.js';

/** How many authenticated tokens to keep in memory by default (AUTH_CACHE_SIZE). */
export const DEFAULT_AUTH_CACHE_SIZE = 10_000;

/**
 * Tokens by secret digest, least recently used first. Exact within this process: a change to a
 * token forgets it before it is answered (`forget`, before and after the write), expiry is checked
 * on every use, and a read that raced with a change is not cached (see `read`). Only this process's
 * changes are seen directly: where this process is the database's sole server (what
 * store/index.ts's openStore answers as `cacheExact`) that is all; else the cache is on only with
 * AUTH_CACHE_TTL, learns other processes' changes from the revocation feed (`forgetKeys`), and is
 * bypassed (`reset`) while the feed is lost.
 */
export class AuthCache {
  readonly #size: number;
  /** How long an entry is trusted (AUTH_CACHE_TTL); 0: until evicted. */
  readonly #ttlMs: number;
  /** False while the cache must not be used (its process is not hearing revocations): every read loads. */
  #enabled = true;
  readonly #byKey = new Map<string, TokenRecord>();
  /** When each entry was cached (performance.now()), when there is a TTL. */
  readonly #cachedAt = new Map<string, number>();
  readonly #keyById = new Map<string, string>();
  /** Bumped whenever an entry is dropped: a store read that started before must not be cached. */
  #forgetEpoch = 0;

  /** `size` 0: nothing is cached. `ttlMs` 0: an entry stays until evicted or forgotten. */
  constructor(size: number, ttlMs = 0) {
    this.#size = size;
    this.#ttlMs = ttlMs;
  }

  /**
   * Empties the cache and, with `enabled` false, bypasses it until enabled again: while its process
   * may miss revocations (the feed is lost), nothing read can be trusted to stay true. A read in
   * flight across either change is not cached.
   */
  reset(enabled: boolean): void {
    this.#forgetEpoch++;
    this.#enabled = enabled;
    this.#byKey.clear();
    this.#keyById.clear();
    this.#cachedAt.clear();
  }

  /** Drops the tokens cached under these keys (a revocation heard from the feed). */
  forgetKeys(keys: readonly string[]): void {
    this.#forgetEpoch++;
    for (const key of keys) {
      const token = this.#byKey.get(key);
      if (token === undefined) continue;
      this.#drop(key, token);
    }
  }

  get size(): number {
    return this.#byKey.size;
  }

  #drop(key: string, token: TokenRecord): void {
    this.#byKey.delete(key);
    this.#cachedAt.delete(key);
    if (this.#keyById.get(token.id) === key) this.#keyById.delete(token.id);
  }

  /** The token cached under `key`, refreshed as the most recently used; else `load`'s, cached unless a change raced it. */
  async read(key: string, load: () => Promise<TokenRecord | undefined>): Promise<TokenRecord | undefined> {
    let cached = this.#byKey.get(key);
    if (
      cached !== undefined &&
      this.#ttlMs > 0 &&
      performance.now() - (this.#cachedAt.get(key) ?? 0) > this.#ttlMs
    ) {
      this.#drop(key, cached);
      cached = undefined;
    }
    if (cached !== undefined) {
      // Refresh its place: the least recently used entry is the one evicted.
      this.#byKey.delete(key);
      this.#byKey.set(key, cached);
      return cached;
    }
    const epoch = this.#forgetEpoch;
    const loaded = await load();
    if (loaded !== undefined && epoch === this.#forgetEpoch) this.#remember(key, loaded);
    return loaded;
  }

  /** Replaces the entry under `key` with `updated`, if it still holds `token` (a newer use of the same record). */
  update(key: string, token: TokenRecord, updated: TokenRecord): void {
    if (this.#byKey.get(key) === token) this.#byKey.set(key, updated);
  }

  /** Drops a token; called before a change to it is answered. */
  forget(id: string): void {
    this.#forgetEpoch++;
    const key = this.#keyById.get(id);
    if (key === undefined) return;
    this.#byKey.delete(key);
    this.#cachedAt.delete(key);
    this.#keyById.delete(id);
  }

  #remember(key: string, token: TokenRecord): void {
    if (this.#size <= 0 || !this.#enabled) return;
    this.#byKey.set(key, token);
    this.#keyById.set(token.id, key);
    if (this.#ttlMs > 0) this.#cachedAt.set(key, performance.now());
    if (this.#byKey.size > this.#size) {
      const [oldestKey, oldest] = this.#byKey.entries().next().value as [string, TokenRecord];
      this.#drop(oldestKey, oldest);
    }
  }
}
