// The delivery worker: claims due deliveries from the outbox, sends each signed, and records what came of it.
import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { Delivery, DeliveryOutcome, TokenStore } from '../store/store.js';
import { StoreUnavailableError } from '../store/store.js';
import { type AttemptResult, DEFAULT_FIRST_RETRY_MS, decideOutcome } from './retries.js';

/** How long a receiver has to answer an attempt. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** How long a claimed delivery is this worker's: past it (the process died mid-delivery) another may send it. */
export const DELIVERY_LEASE_MS = DELIVERY_TIMEOUT_MS + 5000;
/** How often the outbox is read for other replicas' rows and for retries coming due. */
export const DEFAULT_POLL_EVERY_MS = 1000;
/** Deliveries claimed, and sent concurrently, per round. */
const BATCH_SIZE = 20;

/** What an attempt came to, for api_tokens_webhook_deliveries_total{outcome}. */
export type DeliveryMetric = 'delivered' | 'retried' | 'failed' | 'gone';

export interface DeliveryWorkerOptions {
  store: TokenStore;
  /** WEBHOOK_SECRET: `whsec_` and base64. */
  secret: string;
  clock?: () => Date;
  /** The first retry's delay before jitter (WEBHOOK_RETRY_BASE). */
  firstRetryMs?: number;
  pollEveryMs?: number;
  timeoutMs?: number;
  leaseMs?: number;
  random?: () => number;
  /** Told of each attempt's outcome. */
  onAttempt?: (outcome: DeliveryMetric, delivery: Delivery) => void;
  /** Told when reading or writing the outbox failed; the worker carries on at the next poll. */
  onError?: (err: Error) => void;
}

const METRIC: Record<DeliveryOutcome['status'], DeliveryMetric> = {
  delivered: 'delivered',
  pending: 'retried',
  failed: 'failed',
  gone: 'gone',
};

/** Why an attempt got no answer, in a few words: never the URL (it may hold credentials). */
function describeFailure(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))
    return `timed out after ${timeoutMs / 1000} s`;
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return `cannot connect: ${cause.code}`;
  return typeof cause?.message === 'string' ? cause.message : 'no answer';
}

/**
 * Sends the outbox's deliveries. Each round claims due deliveries (leased to this worker, so that
 * on PostgreSQL each is sent by one replica at a time), sends them concurrently and records each
 * outcome; rounds follow one another while there is work, then the worker sleeps until woken (a
 * commit in this process wrote to the outbox) or until the next poll (other replicas' rows, retries
 * coming due).
 */
export class DeliveryWorker {
  readonly #options: Required<Omit<DeliveryWorkerOptions, 'onAttempt' | 'onError'>> &
    Pick<DeliveryWorkerOptions, 'onAttempt' | 'onError'>;
  readonly #signer: Webhook;
  readonly #owner = randomUUID();
  /** Aborts attempts in flight when the worker stops. */
  readonly #stopping = new AbortController();
  #woken = false;
  #wake: (() => void) | undefined;
  #running: Promise<void> | undefined;

  constructor(options: DeliveryWorkerOptions) {
    // Field by field: an option given as undefined takes the default too.
    this.#options = {
      ...options,
      clock: options.clock ?? (() => new Date()),
      firstRetryMs: options.firstRetryMs ?? DEFAULT_FIRST_RETRY_MS,
      pollEveryMs: options.pollEveryMs ?? DEFAULT_POLL_EVERY_MS,
      timeoutMs: options.timeoutMs ?? DELIVERY_TIMEOUT_MS,
      leaseMs: options.leaseMs ?? DELIVERY_LEASE_MS,
      random: options.random ?? Math.random,
    };
    this.#signer = new Webhook(options.secret);
  }

  start(): void {
    this.#running ??= this.#loop();
  }

  /** Something was written to the outbox: look now rather than at the next poll. */
  wake(): void {
    this.#woken = true;
    this.#wake?.();
  }

  /** Stops claiming; attempts in flight are cut and recorded as due again at once, for the next process. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    this.#wake?.();
    await this.#running;
  }

  async #loop(): Promise<void> {
    while (!this.#stopping.signal.aborted) {
      this.#woken = false;
      let claimed = 0;
      try {
        claimed = await this.runOnce();
      } catch (err) {
        this.#options.onError?.(err instanceof Error ? err : new Error(String(err)));
      }
      if (claimed > 0 || this.#woken) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#options.pollEveryMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  /** One round: claims due deliveries, sends them and records the outcomes; resolves with how many. */
  async runOnce(): Promise<number> {
    const { store, clock, leaseMs } = this.#options;
    const now = clock();
    const deliveries = await store.claimDeliveries({
      now,
      limit: BATCH_SIZE,
      owner: this.#owner,
      leaseUntil: new Date(now.getTime() + leaseMs),
    });
    await Promise.all(deliveries.map((delivery) => this.#deliver(delivery)));
    return deliveries.length;
  }

  async #deliver(delivery: Delivery): Promise<void> {
    const { store, clock, firstRetryMs, random } = this.#options;
    const result = await this.#send(delivery);
    const stopped = this.#stopping.signal.aborted && 'error' in result;
    const outcome: DeliveryOutcome = stopped
      ? // Cut short by a stop: not the receiver's fault, so due again at once, for whichever process runs next.
        { status: 'pending', nextAttemptAt: clock(), lastStatus: null, lastError: 'the server stopped' }
      : decideOutcome(result, delivery, clock(), firstRetryMs, random);
    try {
      // False when the lease ran out and another worker holds the row now: its record counts.
      if (await store.recordDelivery(delivery.position, this.#owner, outcome))
        this.#options.onAttempt?.(METRIC[outcome.status], delivery);
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      // The outcome is lost; the lease runs out and the delivery is sent again: at least once.
      this.#options.onError?.(err);
    }
  }

  async #send(delivery: Delivery): Promise<AttemptResult> {
    const { timeoutMs, clock } = this.#options;
    const timestamp = clock();
    try {
      const response = await fetch(delivery.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'api-tokens-webhooks',
          'webhook-id': delivery.webhookId,
          'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
          'webhook-signature': this.#signer.sign(delivery.webhookId, timestamp, delivery.body),
        },
        body: delivery.body,
        // A redirect is not a success: the receiver is configured, not discovered.
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.#stopping.signal]),
      });
      await response.body?.cancel();
      return { status: response.status };
    } catch (err) {
      return { error: describeFailure(err, timeoutMs) };
    }
  }
}
