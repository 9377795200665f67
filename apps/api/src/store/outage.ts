// Outages of the store as one start and one end, however many requests and connections fail in between.
import type { StoreUnavailableError } from './store.js';

export interface OutageWatchOptions {
  /** Resolves when the store answers again (the store's ping). */
  ping: () => Promise<void>;
  /** Told once per outage, with the first failure that showed it. */
  onStart: (err: StoreUnavailableError) => void;
  /** Told once when the outage is over, with how long it lasted. */
  onEnd: (outage: { durationMs: number; failures: number }) => void;
  /** How often the store is tried during an outage; also how long it must go unreported to be over. */
  probeEveryMs?: number;
}

const DEFAULT_PROBE_EVERY_MS = 1000;

/**
 * Failures reported while an outage is on count towards it and are not told again: an operator
 * reads "unavailable since …, because …" once, and "available again after … s" once. The end is
 * seen by trying the store, not by waiting for a request, and only once no failure was reported
 * for a whole probe interval, so that a store failing only some requests (a full disk refusing
 * writes while reads pass) does not flap.
 */
export class OutageWatch {
  readonly #options: Required<OutageWatchOptions>;
  #startedAt: number | undefined;
  #lastReportedAt = 0;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: OutageWatchOptions) {
    this.#options = { probeEveryMs: DEFAULT_PROBE_EVERY_MS, ...options };
  }

  /** Whether an outage is on. */
  get unavailable(): boolean {
    return this.#startedAt !== undefined;
  }

  /** A failure of the store's environment: starts an outage, or counts towards the one on. */
  report(err: StoreUnavailableError): void {
    if (this.#closed) return;
    this.#lastReportedAt = Date.now();
    this.#failures++;
    if (this.#startedAt !== undefined) return;
    this.#startedAt = this.#lastReportedAt;
    this.#options.onStart(err);
    this.#scheduleProbe();
  }

  /** Stops probing; an outage still on is not reported as over. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #scheduleProbe(): void {
    // Unref'd: an outage never keeps the process from exiting.
    this.#timer = setTimeout(() => void this.#probe(), this.#options.probeEveryMs).unref();
  }

  async #probe(): Promise<void> {
    // A ping that throws rather than rejects (a store not yet open) is a failed one too.
    const answered = await Promise.resolve()
      .then(this.#options.ping)
      .then(
        () => true,
        () => false,
      );
    if (this.#closed || this.#startedAt === undefined) return;
    const quiet = Date.now() - this.#lastReportedAt >= this.#options.probeEveryMs;
    if (!answered || !quiet) {
      this.#scheduleProbe();
      return;
    }
    const outage = { durationMs: Date.now() - this.#startedAt, failures: this.#failures };
    this.#startedAt = undefined;
    this.#failures = 0;
    this.#options.onEnd(outage);
  }
}
