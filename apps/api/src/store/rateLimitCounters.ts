// Rate-limit counters where the store keeps shared state: in this process's memory, or in PostgreSQL where every replica counts together.
import type pg from 'pg';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterPostgres } from 'rate-limiter-flexible';

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

/**
 * Counters in PostgreSQL through `pool`, so that every replica on the database counts together. The
 * tables are created by the store's migrations (so `tableCreated`: replicas starting together never
 * race to create them). Should PostgreSQL fail, each process counts in memory meanwhile: a limit
 * per process is better than none, and than refusing every request.
 */
export function postgresCounters(pool: pg.Pool): CounterFactory {
  return (name, points, durationSeconds) =>
    new RateLimiterPostgres({
      storeClient: pool,
      storeType: 'pool',
      tableName: name,
      tableCreated: true,
      points,
      duration: durationSeconds,
      insuranceLimiter: memoryCounters(name, points, durationSeconds),
    });
}
