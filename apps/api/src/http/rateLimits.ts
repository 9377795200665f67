// Abuse limits: failed authentications per client address, and requests per token. 0 disables either.
import type { RequestHandler } from 'express';
import { type RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import { type CounterFactory, memoryCounters } from '../counters.js';
import { ApiError } from './apiError.js';
import { addressKey } from './clientAddress.js';

export interface RateLimitConfig {
  /** Failed authentications allowed per client address per minute (RATE_LIMIT_FAILED_AUTH_PER_MIN). */
  failedAuthPerMinute: number;
  /** Requests allowed per token per second (RATE_LIMIT_PER_TOKEN_PER_SEC). */
  requestsPerTokenPerSecond: number;
  /** Leak reports allowed per client address per minute (LEAK_REPORTS_PER_MINUTE); absent: the default. */
  leakReportsPerMinute?: number;
}

export const DEFAULT_RATE_LIMITS: RateLimitConfig = {
  failedAuthPerMinute: 60,
  requestsPerTokenPerSecond: 50,
  leakReportsPerMinute: 60,
};

export const NO_RATE_LIMITS: RateLimitConfig = {
  failedAuthPerMinute: 0,
  requestsPerTokenPerSecond: 0,
  leakReportsPerMinute: 0,
};

const tooManyRequests = (message: string, msBeforeNext: number) => {
  const seconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
  return new ApiError(429, `${message}; retry after ${seconds} s`, {
    headers: { 'Retry-After': String(seconds) },
  });
};

/**
 * Counts failed authentications per client address. It is asked only after an attempt failed, so
 * it can refuse nothing but failures: past `perMinute` in the window, a failing attempt answers 429
 * instead of 401, while a valid token from the same address still passes. The counters are the
 * store's (see rateLimitCounters.ts): per process, or shared by every replica on PostgreSQL.
 */
export class FailedAuthenticationLimiter {
  readonly #limiter: RateLimiterAbstract | undefined;

  constructor(perMinute: number, counters: CounterFactory = memoryCounters) {
    this.#limiter = perMinute > 0 ? counters('rate_limit_failed_auth', perMinute, 60) : undefined;
  }

  /** Counts a failed attempt from `address` (an IPv6 client's /64); throws 429 once it is past the limit. */
  async recordFailure(address: string): Promise<void> {
    try {
      await this.#limiter?.consume(addressKey(address));
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        throw tooManyRequests(
          'Authorization: too many failed authentications from this address',
          rejection.msBeforeNext,
        );
      }
      throw rejection;
    }
  }
}

/**
 * Counts leak reports (POST /tokens/leaked, which needs no token) per client address, an IPv6
 * client by its /64, in one-minute windows: past `perMinute`, 429. Per process, or across every
 * replica on PostgreSQL, as the store's counters are.
 */
export class LeakReportLimiter {
  readonly #limiter: RateLimiterAbstract | undefined;

  constructor(perMinute: number, counters: CounterFactory = memoryCounters) {
    this.#limiter = perMinute > 0 ? counters('rate_limit_leak_reports', perMinute, 60) : undefined;
  }

  /** Counts a report from `address`; throws 429 once the address is past the limit. */
  async recordReport(address: string): Promise<void> {
    try {
      await this.#limiter?.consume(addressKey(address));
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        throw tooManyRequests('too many leak reports from this address', rejection.msBeforeNext);
      }
      throw rejection;
    }
  }
}

/**
 * Counts requests per token in one-second windows: those it authenticates (see
 * `limitRequestsPerToken`) and verifications of it (verifyAPIToken). Per process, or across every
 * replica on PostgreSQL, as the store's counters are.
 */
export class TokenRequestLimiter {
  readonly #limiter: RateLimiterAbstract | undefined;

  constructor(perSecond: number, counters: CounterFactory = memoryCounters) {
    this.#limiter = perSecond > 0 ? counters('rate_limit_per_token', perSecond, 1) : undefined;
  }

  get enabled(): boolean {
    return this.#limiter !== undefined;
  }

  /** Counts one request of token `id`: undefined when it is within the limit, else the seconds to wait. */
  async consume(id: string): Promise<number | undefined> {
    try {
      await this.#limiter?.consume(id);
      return undefined;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      throw rejection;
    }
  }
}

/**
 * Refuses the caller's requests beyond the limit, with 429; runs after authentication. Undefined
 * when the limit is off, so that no middleware is mounted at all.
 */
export function limitRequestsPerToken(limiter: TokenRequestLimiter): RequestHandler | undefined {
  if (!limiter.enabled) return undefined;
  return async (_req, res, next) => {
    const caller = res.locals.caller;
    if (caller === undefined) return next();
    const retryAfter = await limiter.consume(caller.id);
    if (retryAfter !== undefined) {
      throw tooManyRequests('Authorization: too many requests with this token', retryAfter * 1000);
    }
    next();
  };
}
