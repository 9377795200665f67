// The retry policy: what an attempt's answer means for its delivery, and when the next attempt is due.
import type { DeliveryOutcome } from '../store/store.js';

/** How long a delivery is retried, from the event: a day. */
export const RETRY_WINDOW_MS = 24 * 60 * 60 * 1000;
/** The first retry's delay before jitter (WEBHOOK_RETRY_BASE): with jitter, between half of it and all of it. */
export const DEFAULT_FIRST_RETRY_MS = 5000;
/** Delays double per attempt up to an hour. */
export const MAX_RETRY_DELAY_MS = 60 * 60 * 1000;

/** What an attempt got: an HTTP status, or an error (no answer, timeout). */
export type AttemptResult = { status: number } | { error: string };

/**
 * The delay after `attempts` attempts: `firstRetryMs` doubled per attempt after the first, capped at
 * MAX_RETRY_DELAY_MS, times a random factor in [0.5, 1) so that receivers coming back are not hit
 * by every sender at the same instant.
 */
export function retryDelay(
  attempts: number,
  firstRetryMs: number,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(firstRetryMs * 2 ** Math.max(0, attempts - 1), MAX_RETRY_DELAY_MS);
  return Math.round(exponential * (0.5 + random() / 2));
}

/**
 * What an attempt comes to: a 2xx is delivered; 410 Gone stops the URL (the receiver says it wants
 * no more: this delivery and every other one to the URL, now and later, is `gone`, until an operator
 * clears the mark); anything else is retried after retryDelay, until RETRY_WINDOW_MS after the
 * event, after which the delivery has failed.
 */
export function decideOutcome(
  result: AttemptResult,
  delivery: { attempts: number; createdAt: Date },
  now: Date,
  firstRetryMs: number,
  random: () => number = Math.random,
): DeliveryOutcome {
  if ('status' in result && result.status >= 200 && result.status < 300)
    return { status: 'delivered', nextAttemptAt: null, lastStatus: result.status, lastError: null };
  const lastStatus = 'status' in result ? result.status : null;
  const lastError = 'status' in result ? `answered ${result.status}` : result.error;
  if (lastStatus === 410)
    return { status: 'gone', nextAttemptAt: null, lastStatus, lastError, stopsUrl: true };
  const windowEnd = delivery.createdAt.getTime() + RETRY_WINDOW_MS;
  if (now.getTime() >= windowEnd) return { status: 'failed', nextAttemptAt: null, lastStatus, lastError };
  const next = Math.min(now.getTime() + retryDelay(delivery.attempts, firstRetryMs, random), windowEnd);
  return { status: 'pending', nextAttemptAt: new Date(next), lastStatus, lastError };
}
