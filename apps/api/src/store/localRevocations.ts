// Revocations told within one process (SQLite's store, the database's only server that caches): after each commit, in commit order.
import { randomBytes } from 'node:crypto';
import type { Revocation, RevocationListener } from './store.js';

/**
 * The listeners of one process, told synchronously after each commit. Ids are `<process>-<n>`:
 * the process part, random per process, keeps an id from before a restart from matching a later
 * one (a client resuming with it is told to reset).
 */
export class LocalRevocations {
  readonly #listeners = new Set<RevocationListener>();
  readonly #process = randomBytes(6).toString('base64url');
  #next = 1;

  listen(listener: RevocationListener): () => void {
    this.#listeners.add(listener);
    listener.listening();
    return () => {
      this.#listeners.delete(listener);
    };
  }

  publish(digests: readonly Buffer[]): void {
    const revocation: Revocation = { id: `${this.#process}-${this.#next++}`, at: new Date(), digests };
    for (const listener of this.#listeners) listener.revoked(revocation);
  }
}
