// Refused authentications, counted per client address and written every few seconds, merged per address and UTC minute.
import type { AuditEvent, Provenance } from '../model.js';
import type { TokenStore } from '../store/store.js';
import { auditEvent } from './audit.js';
import { DelayedWrite } from './delayedWrite.js';

/** The key under which refusals merge in the store: one client address, one UTC minute. */
export function refusalKey(event: AuditEvent): string {
  return `${event.provenance?.address ?? ''} ${Math.floor(event.time.getTime() / 60_000)}`;
}

/** How often counted refusals are written; the store merges them per address and minute. */
export const REFUSAL_FLUSH_MS = 5000;

/**
 * Addresses counted apart between two writes. Past it, a flood from ever new addresses is counted
 * under one address, OTHER_ADDRESSES, so memory stays bounded as the table does.
 */
export const MAX_COUNTED_ADDRESSES = 10_000;
export const OTHER_ADDRESSES = 'other addresses';

/**
 * Counts refused authentications per client address and writes them every few seconds as
 * `auth.refused` events; the store merges each address's events within a UTC minute into one, so a
 * flood adds one row a minute per address. Each write is reported through `onWritten` once.
 */
export class RefusalCounter {
  readonly #store: TokenStore;
  readonly #onWritten: (event: AuditEvent) => void;
  readonly #onError: (err: Error) => void;
  /** The first refusal from each address since the last write, and how many followed it. */
  #counted = new Map<string, { first: AuditEvent; count: number }>();
  readonly #writer = new DelayedWrite(REFUSAL_FLUSH_MS, () => this.#writeCounted());

  constructor(store: TokenStore, onWritten: (event: AuditEvent) => void, onError: (err: Error) => void) {
    this.#store = store;
    this.#onWritten = onWritten;
    this.#onError = onError;
  }

  /** Counts one refused authentication from `provenance` at `time`. */
  count(provenance: Provenance, time: Date): void {
    let address = provenance.address;
    if (!this.#counted.has(address) && this.#counted.size >= MAX_COUNTED_ADDRESSES) address = OTHER_ADDRESSES;
    const counted = this.#counted.get(address);
    if (counted !== undefined) {
      counted.count++;
    } else {
      const first = auditEvent('auth.refused', { time, provenance: { ...provenance, address } });
      this.#counted.set(address, { first, count: 1 });
    }
    this.#writer.schedule();
  }

  /** Writes what has been counted; a clean stop calls it. A failed write is reported and dropped. */
  flush(): Promise<void> {
    return this.#writer.flush();
  }

  async #writeCounted(): Promise<void> {
    if (this.#counted.size === 0) return;
    const events = [...this.#counted.values()].map(({ first, count }) => ({ ...first, details: { count } }));
    this.#counted = new Map();
    try {
      await this.#store.recordRefusals(events.map((event) => ({ event, mergeKey: refusalKey(event) })));
    } catch (err) {
      this.#onError(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    for (const event of events) this.#onWritten(event);
  }
}
