// Rate-limit counters in PostgreSQL, where every replica counts together.
import type pg from 'pg';
import { RateLimiterPostgres } from 'rate-limiter-flexible';
import { type CounterFactory, memoryCounters } from '../counters.js';

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
