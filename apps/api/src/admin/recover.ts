// Admin recovery: a new token holding every capability, written straight to the store, for an operator who lost every admin secret.
import { existsSync } from 'node:fs';
import { loadSpec, readCapabilityCatalog } from '../spec.js';
import { openStore } from '../store/index.js';
import { StoreInUseError } from '../store/store.js';
import { TokenService } from '../tokens/service.js';

export const RECOVERED_TOKEN_NAME = 'recovered-admin';

/** Recovery refused, changing nothing; the message is one line that says why and what to do. */
export class RecoveryError extends Error {
  override readonly name = 'RecoveryError';
}

/** The token recovery made, and its secret: shown once, stored only as its digest. */
export interface RecoveredAdmin {
  id: string;
  name: string;
  description: string;
  createdAt: string;
  secret: string;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Creates a token holding every capability the spec defines, on `*` for datasets and views, never
 * expiring, directly in the store `databaseUrl` names (as DATABASE_URL does). No issuer: the
 * operator's access to the database is the authority. The store is claimed `sole` while it is
 * open, so on SQLite this refuses while any server holds the database (with the auth cache on or
 * off): a running server is the place to create tokens, and two writers' claims must not mix.
 */
export async function recoverAdmin(
  databaseUrl: string,
  { now = new Date() }: { now?: Date } = {},
): Promise<RecoveredAdmin> {
  // A mistyped path must not quietly create an empty database holding only the recovered token.
  const sqlitePath = /^sqlite:(.+)$/.exec(databaseUrl)?.[1];
  if (sqlitePath !== undefined && sqlitePath !== ':memory:' && !existsSync(sqlitePath)) {
    throw new RecoveryError(
      `database: no SQLite database at ${sqlitePath}; give the DATABASE_URL the server uses, like sqlite:./data/tokens.db`,
    );
  }
  const catalog = readCapabilityCatalog(loadSpec());
  let store: Awaited<ReturnType<typeof openStore>>['store'];
  try {
    // Awaited so that an asynchronous openStore (a networked store) needs no change here.
    ({ store } = await openStore(databaseUrl, { claim: 'sole' }));
  } catch (err) {
    if (err instanceof StoreInUseError) {
      throw new RecoveryError(
        'database: an api-tokens server is using this database; stop it, run the recovery, then start it again',
        { cause: err },
      );
    }
    throw new RecoveryError(`database: ${message(err)}`, { cause: err });
  }
  try {
    const tokens = new TokenService({ store, catalog, clock: () => now, authCacheSize: 0 });
    const { token, secret } = await tokens.recoverAdmin(
      RECOVERED_TOKEN_NAME,
      `Recovered at ${now.toISOString()} with api-tokens admin recover; holds every capability. Create narrower tokens with it, and delete it once done.`,
    );
    return {
      id: token.id,
      name: token.name,
      description: token.description,
      createdAt: token.createdAt.toISOString(),
      secret,
    };
  } finally {
    await store.close();
  }
}
