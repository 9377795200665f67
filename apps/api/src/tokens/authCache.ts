// The authentication cache: recently authenticated tokens by secret digest, so that a token used on every call costs no store read.
import type { TokenRecord } from '../model.js';

/** How many authenticated tokens to keep in memory by default (AUTH_CACHE_SIZE). */
export const DEFAULT_AUTH_CACHE_SIZE = 10_000;

/**
 * Tokens by secret digest, least recently used first. Exact within this process: a change to a
 * token forgets it before it is answered (`forget`, before and after the write), expiry is checked
 * on every use, and a read that raced with a change is not cached (see `read`). Only this process's
 * changes are seen, so it may be on only where this process is the database's sole server: what
 * store/index.ts's openStore answers as `inProcessCacheExact`.
 */
export class AuthCache {
  readonly #size: number;
  readonly #byKey = new Map<string, TokenRecord>();
  readonly #keyById = new Map<string, string>();
  /** Bumped whenever an entry is dropped: a store read that started before must not be cached. */
  #forgetEpoch = 0;

  /** `size` 0: nothing is cached. */
  constructor(size: number) {
    this.#size = size;
  }

  /** The token cached under `key`, refreshed as the most recently used; else `load`'s, cached unless a change raced it. */
  async read(key: string, load: () => Promise<TokenRecord | undefined>): Promise<TokenRecord | undefined> {
    const cached = this.#byKey.get(key);
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
    this.#keyById.delete(id);
  }

  #remember(key: string, token: TokenRecord): void {
    if (this.#size <= 0) return;
    this.#byKey.set(key, token);
    this.#keyById.set(token.id, key);
    if (this.#byKey.size > this.#size) {
      const [oldestKey, oldest] = this.#byKey.entries().next().value as [string, TokenRecord];
      this.#byKey.delete(oldestKey);
      this.#keyById.delete(oldest.id);
    }
  }
}
