// Verdicts remembered for a while, keyed by a SHA-256 digest of the secret: never the secret itself.
import { createHash } from 'node:crypto';
import type { ApiTokenVerdict } from '@api-tokens/client';

interface Entry {
  verdict: ApiTokenVerdict;
  /** Date.now() past which the entry is stale. */
  staleAt: number;
}

/** The key of a secret and what was required of it: the secret's digest, never the secret. */
export function cacheKey(secret: string, required: unknown): string {
  const digest = createHash('sha256').update(secret).digest('base64url');
  return `${digest} ${JSON.stringify(required ?? null)}`;
}

/**
 * A bounded map of verdicts, each kept for at most `ttlMs`, and a valid one never past its token's
 * `expiresAt`. Past `maxEntries`, the least recently used entry goes.
 */
export class VerdictCache {
  readonly #entries = new Map<string, Entry>();

  constructor(
    readonly ttlMs: number,
    readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): ApiTokenVerdict | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (Date.now() >= entry.staleAt) return undefined;
    this.#entries.set(key, entry); // now the most recently used
    return entry.verdict;
  }

  /** Remembers a final verdict; RATE_LIMITED says nothing lasting, so it is never kept. */
  set(key: string, verdict: ApiTokenVerdict): void {
    if (this.ttlMs <= 0 || this.maxEntries <= 0 || verdict.code === 'RATE_LIMITED') return;
    let staleAt = Date.now() + this.ttlMs;
    if ('token' in verdict && verdict.token.expiresAt !== null) {
      staleAt = Math.min(staleAt, Date.parse(verdict.token.expiresAt));
    }
    this.#entries.delete(key);
    this.#entries.set(key, { verdict, staleAt });
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.maxEntries) break;
      this.#entries.delete(oldest);
    }
  }

  /** The keys held, oldest first (for tests: they must never hold a secret). */
  keys(): string[] {
    return [...this.#entries.keys()];
  }
}
