// Verdicts remembered for a while, keyed by a SHA-256 digest of the secret: never the secret itself.
import { createHash } from 'node:crypto';
import type { ApiTokenVerdict } from '@api-tokens/client';
import { LRUCache } from 'lru-cache';

/** The key of a secret, what was required of it and where it came from: the secret's digest, never the secret. */
export function cacheKey(secret: string, required: unknown, clientAddress?: string): string {
  const digest = createHash('sha256').update(secret).digest('base64url');
  return `${digest} ${JSON.stringify(required ?? null)} ${clientAddress ?? ''}`;
}

/**
 * A bounded map of verdicts, each kept for at most `ttlMs`, and a valid one never past its token's
 * `expiresAt`. Past `maxEntries`, the least recently used entry goes. An lru-cache with a TTL per
 * entry, read against Date.now() (the clock `expiresAt` is compared with, and the one tests move).
 */
export class VerdictCache {
  readonly #entries: LRUCache<string, ApiTokenVerdict> | undefined;

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
    });
  }

  get size(): number {
    return this.#entries?.size ?? 0;
  }

  get(key: string): ApiTokenVerdict | undefined {
    return this.#entries?.get(key);
  }

  /** Remembers a final verdict; RATE_LIMITED and NOT_YET_VALID are never kept. */
  set(key: string, verdict: ApiTokenVerdict): void {
    // RATE_LIMITED and NOT_YET_VALID say nothing lasting: a token's start may come within the ttl.
    if (this.#entries === undefined || verdict.code === 'RATE_LIMITED' || verdict.code === 'NOT_YET_VALID')
      return;
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
  }

  /** The keys held, least recently used first (for tests: they must never hold a secret). */
  keys(): string[] {
    return [...(this.#entries?.rkeys() ?? [])];
  }
}
