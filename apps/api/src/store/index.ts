// The one place a store is chosen (DATABASE_URL's scheme names the implementation), and where what it lets a process keep in memory is stated.
import { type CounterFactory, memoryCounters } from '../counters.js';
import { type PostgresStoreOptions, PostgresTokenStore } from './postgres.js';
import { postgresCounters } from './rateLimitCounters.js';
import { SqliteTokenStore } from './sqlite.js';
import type { Claim, TokenStore } from './store.js';

/** What opening any store takes; each store uses what applies to it (the claim is SQLite's, the pool PostgreSQL's). */
export interface OpenStoreOptions extends PostgresStoreOptions {
  /**
   * Whether this process wants to keep what it reads in memory (the authentication cache), which is
   * exact only if no other process changes the database behind its back. On SQLite that is claimed:
   * with it this process must be the file's sole server (`claim: 'sole'`), without it others may
   * share (`'shared'`), unless `claim` says otherwise. PostgreSQL is for many processes: see `cacheExact`.
   */
  cache?: boolean;
  claim?: Claim;
}

/** An open store, and what the processes that share its database need to agree on. */
export interface OpenedStore {
  store: TokenStore;
  /**
   * Whether an in-process cache of what the database holds is exact: true when this process holds
   * the database alone (SQLite claimed `sole`); false where other processes may change it
   * (PostgreSQL replicas), so that a cache (on only with AUTH_CACHE_TTL) needs the revocation feed
   * to hear their changes, and every authentication reads the store while the feed is lost.
   */
  cacheExact: boolean;
  /** Where rate-limit counters live: in PostgreSQL, shared by every replica; else in this process's memory. */
  rateLimitCounters: CounterFactory;
}

/**
 * Opens the store `databaseUrl` names: `sqlite:<path>` (or `sqlite::memory:`), or
 * `postgres://…` / `postgresql://…`, which it connects to (retrying while the database cannot be
 * reached, up to `connectTimeoutMs`) and migrates.
 */
export async function openStore(databaseUrl: string, options: OpenStoreOptions = {}): Promise<OpenedStore> {
  if (/^postgres(ql)?:\/\/./.test(databaseUrl)) {
    const store = await PostgresTokenStore.open(databaseUrl, options);
    return { store, cacheExact: false, rateLimitCounters: postgresCounters(store.pool) };
  }
  const sqlite = /^sqlite:(.+)$/.exec(databaseUrl);
  if (sqlite?.[1] !== undefined) {
    // Without either, no claim is checked, as for tools that open the database while no server runs.
    const claim =
      options.claim ?? (options.cache === undefined ? undefined : options.cache ? 'sole' : 'shared');
    const store = new SqliteTokenStore(sqlite[1], { ...options, claim });
    // An in-memory database is this process's alone.
    return {
      store,
      cacheExact: claim === 'sole' || sqlite[1] === ':memory:',
      rateLimitCounters: memoryCounters,
    };
  }
  // The value itself is not echoed: a database URL can carry a password.
  throw new Error(
    'DATABASE_URL: unsupported value; expected sqlite:<path> (for example sqlite:./data/tokens.db) ' +
      'or postgres://user@host:5432/database',
  );
}
