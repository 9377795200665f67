// Rate-limit counters as the HTTP edge uses them, wherever they are kept: the interface, and the in-memory kind.
import { type RateLimiterAbstract, RateLimiterMemory } from 'rate-limiter-flexible';

/** The counters the service keeps; on PostgreSQL each is a table its migrations create. */
export type CounterName = 'rate_limit_failed_auth' | 'rate_limit_per_token' | 'rate_limit_leak_reports';

/** Makes the counter `name` of `points` per `durationSeconds`. */
export type CounterFactory = (
  name: CounterName,
  points: number,
  durationSeconds: number,
) => RateLimiterAbstract;

/** Counters in this process's memory: a limit per process. */
export const memoryCounters: CounterFactory = (_name, points, durationSeconds) =>
  new RateLimiterMemory({ points, duration: durationSeconds });
