// The revocation feed as receiving services read it (GET /tokens/revocations): the revocations this process heard, a bounded window of them to resume from, and who is reading.
import type { Revocation, RevocationListener } from '../store/store.js';

/** A revocation as the feed sends it: digests in base64url, as a receiving service computes them. */
export interface FeedEvent {
  id: string;
  at: Date;
  digests: string[];
}

/** A reader of the feed: told each event as it is heard, and when the feed itself was lost. */
export interface FeedReader {
  send(event: FeedEvent): void;
  /**
   * Revocations may have been missed, or the reader's own token was revoked: the reader's stream
   * must end (its client drops its cache and reconnects, with a token that still works).
   */
  end(): void;
  /**
   * The digest (base64url) of the secret the reader authenticated with: a revocation naming it is
   * the last event the reader is sent, so that a revoked token cannot go on following the feed.
   */
  readonly digest?: string;
}

/** What a reader resuming from an event id missed: those events, or `reset` (drop every cached verdict). */
export type Missed = FeedEvent[] | 'reset';

/** Events kept to resume from: at least 100,000, whatever their age (the spec's window). */
export const FEED_WINDOW_EVENTS = 100_000;

/**
 * Listens to the store (see TokenStore.listenForRevocations) and keeps the last FEED_WINDOW_EVENTS
 * events in the order heard, which is commit order on every replica, so that an id read from any
 * replica resumes on any other that heard it. While revocations may be missed (before the store
 * listens, or after it lost its connection) the window is emptied and there is no feed to read:
 * `read` answers undefined and every reader is ended.
 */
export class RevocationFeed implements RevocationListener {
  readonly #capacity: number;
  /** The window, oldest first, from #first on (earlier slots are dropped in batches). */
  #events: FeedEvent[] = [];
  #first = 0;
  /** Each kept event's index in #events. */
  readonly #indexById = new Map<string, number>();
  readonly #readers = new Set<FeedReader>();
  #listening = false;
  /** Told of each revocation heard, after the readers (the authentication cache evicts). */
  readonly #onRevoked: (revocation: Revocation) => void;

  constructor(onRevoked: (revocation: Revocation) => void = () => {}, capacity = FEED_WINDOW_EVENTS) {
    this.#onRevoked = onRevoked;
    this.#capacity = capacity;
  }

  /** Whether revocations are heard now: while not, the feed cannot be read. */
  get isListening(): boolean {
    return this.#listening;
  }

  revoked(revocation: Revocation): void {
    const event: FeedEvent = {
      id: revocation.id,
      at: revocation.at,
      digests: revocation.digests.map((digest) => digest.toString('base64url')),
    };
    this.#keep(event);
    this.#onRevoked(revocation);
    for (const reader of this.#readers) {
      reader.send(event);
      if (reader.digest !== undefined && event.digests.includes(reader.digest)) {
        this.#readers.delete(reader);
        reader.end();
      }
    }
  }

  lost(): void {
    this.#listening = false;
    // What follows the last event kept is unknown now: no id before the gap can be resumed from.
    this.#events = [];
    this.#first = 0;
    this.#indexById.clear();
    this.endReaders();
  }

  listening(): void {
    this.#listening = true;
  }

  /**
   * Adds a reader, told every event heard from now on, and answers what it missed since
   * `lastEventId`: nothing when it is absent (a new reader, whose cache is empty), the events after
   * it when the window holds it, else `reset`. Undefined when the feed is lost for now.
   */
  read(reader: FeedReader, lastEventId?: string): { missed: Missed; stop: () => void } | undefined {
    if (!this.#listening) return undefined;
    let missed: Missed = [];
    if (lastEventId !== undefined) {
      const index = this.#indexById.get(lastEventId);
      missed = index === undefined ? 'reset' : this.#events.slice(index + 1);
    }
    this.#readers.add(reader);
    return { missed, stop: () => this.#readers.delete(reader) };
  }

  /** Ends every reader's stream (the feed was lost, or the server is stopping). */
  endReaders(): void {
    const readers = [...this.#readers];
    this.#readers.clear();
    for (const reader of readers) reader.end();
  }

  #keep(event: FeedEvent): void {
    this.#indexById.set(event.id, this.#events.length);
    this.#events.push(event);
    if (this.#events.length - this.#first <= this.#capacity) return;
    const dropped = this.#events[this.#first];
    if (dropped !== undefined) this.#indexById.delete(dropped.id);
    this.#first++;
    // Compacted once as many slots are dropped as are kept: amortised constant per event.
    if (this.#first >= this.#capacity) {
      this.#events = this.#events.slice(this.#first);
      this.#first = 0;
      this.#indexById.clear();
      for (const [index, kept] of this.#events.entries()) this.#indexById.set(kept.id, index);
    }
  }
}
