// The one place a store is chosen: DATABASE_URL's scheme names the implementation.
import { SqliteTokenStore } from './sqlite.js';
import type { StoreOptions, TokenStore } from './store.js';

/** Opens the store `databaseUrl` names: `sqlite:<path>` (or `sqlite::memory:`) today. */
export function openStore(databaseUrl: string, options: StoreOptions = {}): TokenStore {
  const sqlite = /^sqlite:(.+)$/.exec(databaseUrl);
  if (sqlite?.[1] !== undefined) return new SqliteTokenStore(sqlite[1], options);
  // The value itself is not echoed: a database URL can carry a password.
  throw new Error(
    'DATABASE_URL: unsupported value; expected sqlite:<path>, for example sqlite:./data/tokens.db',
  );
}
