// Which processes may use one database file at once: a lock file beside it, held while the store is open.
import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { type Claim, StoreInUseError } from './store.js';

export type { Claim };
export { StoreInUseError };

/**
 * How long a claim waits for a lock that is only passing: another process's claim that is being
 * refused holds SQLite's pending lock for a moment, which would refuse this one too.
 */
const PASSING_LOCK_MS = 250;

/**
 * The lock file for the database at `path`, by the database's real name, so that a server reaching
 * it through a symbolic link finds the same lock. (A hard link is beyond this; so it is for SQLite.)
 */
function lockPath(path: string): string {
  const real = existsSync(path) ? realpathSync(path) : join(realpathSync(dirname(path)), basename(path));
  return `${real}-lock`;
}

/**
 * Takes `claim` on the database at `path` and returns what releases it. The lock is SQLite's own
 * file locking on a small database beside it (`<path>-lock`), in exclusive locking mode, so the
 * lock lasts as long as the connection: a `sole` claim holds the write lock, which no other
 * process can share; a `shared` claim holds a read lock, which only other `shared` claims can
 * share. The operating system drops the locks when a process ends, however it ends, and the lock
 * file keeps its journal in memory, so a crash leaves nothing to recover or clean up. The file
 * itself stays (4 KiB, holding nothing); delete it only while no server runs.
 */
export function claimDatabase(path: string, claim: Claim): () => void {
  const lock = new Database(lockPath(path), { timeout: PASSING_LOCK_MS });
  try {
    lock.pragma('journal_mode = MEMORY');
    lock.pragma('locking_mode = EXCLUSIVE');
    if (claim === 'sole') lock.exec('BEGIN EXCLUSIVE; COMMIT');
    else lock.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (err) {
    lock.close();
    if (err instanceof Database.SqliteError && err.code.startsWith('SQLITE_BUSY'))
      throw new StoreInUseError(claim, { cause: err });
    throw err;
  }
  return () => lock.close();
}
