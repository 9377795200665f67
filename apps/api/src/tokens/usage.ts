// When each token was last used (apiLastUsed): noted on every use, written at most once a minute per token, in batches off the request path.
import type { TokenRecord } from '../model.js';
import type { TokenStore, TokenUse } from '../store/store.js';

/** A token's last use is written at most this often. */
export const USE_RECORD_INTERVAL_MS = 60_000;

/** How long a noted use waits to be written together with others: how far apiLastUsed may trail a use. */
export const USE_FLUSH_DELAY_MS = 1000;

/**
 * Collects uses and writes them in one store transaction a second later. A use is queued only when
 * the token's recorded last use (as the caller read it, or as queued here) is a minute old or more,
 * so a busy token costs one write a minute, and the store's conditional update keeps processes
 * sharing a database from writing the same minute twice. A use is never dropped because none
 * follows it: the timer writes it, and `flush` (at shutdown) writes what is still queued.
 */
export class UsageRecorder {
  readonly #store: TokenStore;
  readonly #onError: (err: Error) => void;
  /** Uses not yet written: the latest of each token. */
  #pending = new Map<string, TokenUse>();
  /** When a use of each token was last queued here (Unix ms); entries older than the interval are dropped. */
  readonly #queuedAt = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> | undefined;

  constructor(store: TokenStore, onError: (err: Error) => void) {
    this.#store = store;
    this.#onError = onError;
  }

  /** Notes that `token` was used at `at`. */
  note(token: TokenRecord, at: Date): void {
    const last = Math.max(
      this.#queuedAt.get(token.id) ?? -Infinity,
      token.lastUsedAt?.getTime() ?? -Infinity,
    );
    if (at.getTime() - last < USE_RECORD_INTERVAL_MS) return;
    this.#queuedAt.set(token.id, at.getTime());
    this.#pending.set(token.id, { id: token.id, at });
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, USE_FLUSH_DELAY_MS);
    // Queued uses alone do not keep the process alive; a clean stop flushes them.
    this.#timer.unref();
  }

  /** Writes every queued use now; resolves once they are committed (or have failed and been queued again). */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#writing !== undefined) await this.#writing;
    if (this.#pending.size === 0) return;
    const uses = [...this.#pending.values()];
    this.#pending = new Map();
    this.#writing = this.#store
      .recordUses(uses, USE_RECORD_INTERVAL_MS)
      .catch((err: unknown) => {
        // Queued again (unless a later use of the same token took its place) and retried.
        for (const use of uses) if (!this.#pending.has(use.id)) this.#pending.set(use.id, use);
        this.#schedule();
        this.#onError(err instanceof Error ? err : new Error(String(err)));
      })
      .finally(() => {
        this.#writing = undefined;
      });
    await this.#writing;
    const newest = Math.max(...uses.map((use) => use.at.getTime()));
    for (const [id, queuedAt] of this.#queuedAt) {
      if (newest - queuedAt >= USE_RECORD_INTERVAL_MS) this.#queuedAt.delete(id);
    }
  }
}
