// When each token was last used (apiLastUsed): noted on every use, written at most once a minute per token, in batches off the request path.
import type { TokenRecord } from '../model.js';
import type { TokenStore, TokenUse } from '../store/store.js';
import { DelayedWrite } from './delayedWrite.js';

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
  readonly #writer = new DelayedWrite(USE_FLUSH_DELAY_MS, () => this.#writePending());

  constructor(store: TokenStore, onError: (err: Error) => void) {
    this.#store = store;
    this.#onError = onError;
  }

  /** Notes that `token` was used at `at`; true when that use is queued to be written as its last. */
  note(token: TokenRecord, at: Date): boolean {
    const last = Math.max(
      this.#queuedAt.get(token.id) ?? -Infinity,
      token.lastUsedAt?.getTime() ?? -Infinity,
    );
    if (at.getTime() - last < USE_RECORD_INTERVAL_MS) return false;
    this.#queuedAt.set(token.id, at.getTime());
    this.#pending.set(token.id, { id: token.id, at });
    this.#writer.schedule();
    return true;
  }

  /** Writes every queued use now; resolves once they are committed (or have failed and been queued again). */
  flush(): Promise<void> {
    return this.#writer.flush();
  }

  async #writePending(): Promise<void> {
    if (this.#pending.size === 0) return;
    const uses = [...this.#pending.values()];
    this.#pending = new Map();
    try {
      await this.#store.recordUses(uses, USE_RECORD_INTERVAL_MS);
    } catch (err) {
      // Queued again (unless a later use of the same token took its place) and retried.
      for (const use of uses) if (!this.#pending.has(use.id)) this.#pending.set(use.id, use);
      this.#writer.schedule();
      this.#onError(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const newest = Math.max(...uses.map((use) => use.at.getTime()));
    for (const [id, queuedAt] of this.#queuedAt) {
      if (newest - queuedAt >= USE_RECORD_INTERVAL_MS) this.#queuedAt.delete(id);
    }
  }
}
