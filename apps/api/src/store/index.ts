// The one place a store is chosen: DATABASE_URL's scheme names the implementation.
import { type PostgresStoreOptions, PostgresTokenStore } from './postgres.js';
import { type CounterFactory, memoryCounters, postgresCounters } from './rateLimitCounters.js';
import { SqliteTokenStore } from './sqlite.js';
import type { TokenStore } from './store.js';

/** What opening any store takes; each store uses what applies to it (the claim is SQLite's, the pool PostgreSQL's). */
export type OpenStoreOptions = PostgresStoreOptions;

/**
 * Opens the store `databaseUrl` names: `sqlite:<path>` (or `sqlite::memory:`), or
 * `postgres://…` / `postgresql://…`, which it connects to (retrying while the database cannot be
 * reached, up to `connectTimeoutMs`) and migrates.
 */
export async function openStore(databaseUrl: string, options: OpenStoreOptions = {}): Promise<TokenStore> {
  if (/^postgres(ql)?:\/\/./.test(databaseUrl)) return PostgresTokenStore.open(databaseUrl, options);
  const sqlite = /^sqlite:(.+)$/.exec(databaseUrl);
  if (sqlite?.[1] !== undefined) return new SqliteTokenStore(sqlite[1], options);
  // The value itself is not echoed: a database URL can carry a password.
  throw new Error(
    'DATABASE_URL: unsupported value; expected sqlite:<path> (for example sqlite:./data/tokens.db) ' +
      'or postgres://user@host:5432/database',
  );
}

/** Where `store`'s processes keep rate-limit counters: shared through PostgreSQL, else in each process's memory. */
export function rateLimitCountersOf(store: TokenStore): CounterFactory {
  return store instanceof PostgresTokenStore ? postgresCounters(store.pool) : memoryCounters;
}
