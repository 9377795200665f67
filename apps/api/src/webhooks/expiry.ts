// The expiry scan: finds tokens about to expire (7 days, then 1 day before) or just expired, and records each notice once.
import type { AuditEvent } from '../model.js';
import type { TokenStore } from '../store/store.js';
import { auditEvent, tokenRef } from '../tokens/audit.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The scan runs at most this often (once a minute). */
export const EXPIRY_SCAN_EVERY_MS = 60_000;
/**
 * How far back a `token.expired` notice still goes out: as long as an expired token is kept by
 * default (EXPIRED_TOKEN_RETENTION), so that a server stopped for a few days still tells of tokens
 * that expired meanwhile.
 */
export const EXPIRED_NOTICE_LOOKBACK_MS = 7 * DAY_MS;
/** Tokens read per query of the scan. */
const SCAN_BATCH = 500;

/**
 * The notices, each sent once per token: `7d` to a token expiring between 1 and 7 days from now,
 * `1d` to one expiring within a day (a token created with less than a day left gets only this one),
 * `expired` to one that expired within the lookback. Tokens a regenerate replaced are left out:
 * their grace period ending is not news.
 */
export const EXPIRY_NOTICES = [
  { notice: '7d', type: 'token.expiring', from: DAY_MS, before: 7 * DAY_MS },
  { notice: '1d', type: 'token.expiring', from: 0, before: DAY_MS },
  { notice: 'expired', type: 'token.expired', from: -EXPIRED_NOTICE_LOOKBACK_MS, before: 0 },
] as const;

/**
 * Records the notices due at `now`, each with its audit event (and so its webhooks), once per token
 * and notice; one process at a time (on PostgreSQL, under an advisory lock). Resolves with the
 * events written.
 */
export async function scanExpiries(store: TokenStore, now: Date): Promise<AuditEvent[]> {
  const written = await store.runAlone('webhook-expiry-scan', async () => {
    const events: AuditEvent[] = [];
    for (const { notice, type, from, before } of EXPIRY_NOTICES) {
      // Each batch's tokens are left out of the next once noticed; bounded all the same.
      for (let batch = 0; batch < 100; batch++) {
        const tokens = await store.findTokensToNotice({
          notice,
          expiresFrom: new Date(now.getTime() + from),
          expiresBefore: new Date(now.getTime() + before),
          limit: SCAN_BATCH,
        });
        events.push(
          ...(await store.recordNotices(
            tokens.map((token) => ({
              tokenId: token.id,
              notice,
              event: auditEvent(type, {
                time: now,
                target: tokenRef(token),
                details: {
                  expiresAt: token.expiresAt?.toISOString() ?? null,
                  ...(type === 'token.expiring' ? { within: notice } : {}),
                },
              }),
            })),
          )),
        );
        if (tokens.length < SCAN_BATCH) break;
      }
    }
    return events;
  });
  return written ?? [];
}

/** Runs scanExpiries every `everyMs` (and once at start), telling `onEvents` of what it wrote. */
export class ExpiryScanner {
  #timer: NodeJS.Timeout | undefined;
  #scanning: Promise<void> | undefined;
  #stopped = false;

  constructor(
    private readonly options: {
      store: TokenStore;
      clock?: () => Date;
      everyMs?: number;
      onEvents: (events: readonly AuditEvent[]) => void;
      onError?: (err: Error) => void;
    },
  ) {}

  start(): void {
    this.#schedule(0);
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#scanning = this.scan().finally(() => {
        this.#scanning = undefined;
        this.#schedule(this.options.everyMs ?? EXPIRY_SCAN_EVERY_MS);
      });
    }, delayMs);
    this.#timer.unref();
  }

  /** One scan now; failures go to onError, and the next scan tries again. */
  async scan(): Promise<void> {
    try {
      const events = await scanExpiries(this.options.store, (this.options.clock ?? (() => new Date()))());
      if (events.length > 0) this.options.onEvents(events);
    } catch (err) {
      this.options.onError?.(err instanceof Error ? err : new Error(String(err)));
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#scanning;
  }
}
