// The audit trail's events: what each token change records, and refused authentications counted per address and minute.
import { v7 as uuidv7 } from 'uuid';
import type { AuditEvent, AuditEventType, Provenance, TokenRecord, TokenRef } from '../model.js';
import type { TokenStore } from '../store/store.js';
import { DelayedWrite } from './delayedWrite.js';

export const tokenRef = (token: TokenRecord): TokenRef => ({ tokenId: token.id, name: token.name });

/** What a token holds and how long, as events record it: never its secret or digest. */
export const grantsOf = (token: TokenRecord) => ({
  expiresAt: token.expiresAt?.toISOString() ?? null,
  datasetCapabilities: token.datasetCapabilities,
  orgCapabilities: token.orgCapabilities,
  viewCapabilities: token.viewCapabilities,
});

export function auditEvent(
  type: AuditEventType,
  fields: {
    time: Date;
    actor?: TokenRef | null;
    target?: TokenRef | null;
    provenance?: Provenance | null;
    details?: Readonly<Record<string, unknown>>;
  },
): AuditEvent {
  return {
    id: uuidv7(),
    time: fields.time,
    type,
    actor: fields.actor ?? null,
    target: fields.target ?? null,
    provenance: fields.provenance ?? null,
    details: fields.details ?? {},
  };
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
      await this.#store.recordRefusals(events);
    } catch (err) {
      this.#onError(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    for (const event of events) this.#onWritten(event);
  }
}
