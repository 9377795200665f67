// The negative cache: digests the store recently did not know, so that repeating an unknown secret costs no store read.
import { LRUCache } from 'lru-cache';

/** Unknown digests remembered by default; past it the least recently seen is forgotten. */
export const DEFAULT_UNKNOWN_DIGESTS = 10_000;

/**
 * Digests that found no token. Safe to keep on any store, even one shared by replicas: a digest
 * becomes known only when a token is stored under it, and a created or regenerated token's secret
 * is fresh from the CSPRNG, so nobody can have presented it before. Only a chosen secret can be
 * (BOOTSTRAP_TOKEN), and storing one clears this cache (as `admin recover` does, to be safe).
 */
export class UnknownDigests {
  readonly #digests: LRUCache<string, true> | undefined;
  /** Bumped by `clear`: a store read that started before it must not be remembered after it. */
  #generation = 0;

  constructor(size: number = DEFAULT_UNKNOWN_DIGESTS) {
    this.#digests = size > 0 ? new LRUCache({ max: size }) : undefined;
  }

  /** Where a lookup starts: pass it to `remember` once the store said the digest is unknown. */
  get generation(): number {
    return this.#generation;
  }

  has(key: string): boolean {
    return this.#digests?.get(key) === true;
  }

  /** Remembers `key` as unknown, unless the cache was cleared since the read that found nothing began. */
  remember(key: string, generation: number): void {
    if (generation === this.#generation) this.#digests?.set(key, true);
  }

  clear(): void {
    this.#generation++;
    this.#digests?.clear();
  }
}
