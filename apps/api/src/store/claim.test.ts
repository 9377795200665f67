// Claims on a database file: one `sole` user, or any number of `shared` ones, never both.
// SQLite's file locks are checked between connections of one process as between processes, so
// these run in one process; test/server.test.ts covers two real server processes.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claimDatabase, StoreInUseError } from './claim.js';
import { SqliteTokenStore } from './sqlite.js';

let path: string;
const held: (() => void)[] = [];
beforeEach(() => {
  path = join(mkdtempSync(join(tmpdir(), 'api-tokens-claim-')), 'tokens.db');
});
afterEach(() => {
  for (const release of held.splice(0)) release();
  rmSync(join(path, '..'), { recursive: true, force: true });
});

const claim = (kind: 'sole' | 'shared') => {
  const release = claimDatabase(path, kind);
  held.push(release);
  return release;
};
const refusal = (kind: 'sole' | 'shared') => {
  try {
    claim(kind);
  } catch (err) {
    return err;
  }
  return undefined;
};

describe('claimDatabase', () => {
  it('a sole claim keeps every other claim out until it is released', () => {
    const release = claim('sole');
    expect(refusal('sole')).toMatchObject({ name: 'StoreInUseError', wanted: 'sole' });
    expect(refusal('shared')).toMatchObject({ name: 'StoreInUseError', wanted: 'shared' });
    release();
    expect(refusal('sole')).toBeUndefined();
  });

  it('shared claims go together, and keep a sole claim out until the last is released', () => {
    const first = claim('shared');
    const second = claim('shared');
    expect(refusal('sole')).toBeInstanceOf(StoreInUseError);
    first();
    expect(refusal('sole')).toBeInstanceOf(StoreInUseError);
    second();
    expect(refusal('sole')).toBeUndefined();
  });

  it('finds the same lock through a symbolic link to the database', () => {
    writeFileSync(path, '');
    const link = join(path, '..', 'link.db');
    symlinkSync(path, link);
    claim('sole');
    expect(() => claimDatabase(link, 'shared')).toThrow(StoreInUseError);
  });

  it('leaves only the lock file beside the database, no journal to recover after a crash', () => {
    claim('sole');
    expect(readdirSync(join(path, '..'))).toEqual(['tokens.db-lock']);
  });

  it('names, in its message, which side is in the way', () => {
    claim('sole');
    expect((refusal('sole') as Error).message).toMatch(/must be its only user/);
    expect((refusal('shared') as Error).message).toMatch(/in use by a process that must be its only user/);
  });
});

describe('SqliteTokenStore with a claim', () => {
  it('refuses before it opens or migrates the database, and holds its claim until closed', async () => {
    const release = claim('sole');
    expect(() => new SqliteTokenStore(path, { claim: 'shared' })).toThrow(StoreInUseError);
    expect(existsSync(path)).toBe(false);
    release();

    const store = new SqliteTokenStore(path, { claim: 'sole' });
    expect(existsSync(path)).toBe(true);
    expect(() => new SqliteTokenStore(path, { claim: 'sole' })).toThrow(StoreInUseError);
    expect(() => new SqliteTokenStore(path, { claim: 'shared' })).toThrow(StoreInUseError);
    await store.close();
    await new SqliteTokenStore(path, { claim: 'sole' }).close();
  });

  it('releases its claim when opening fails after it was taken', () => {
    // A directory where the database file should be: the claim is taken, then the open fails.
    mkdirSync(path);
    expect(() => new SqliteTokenStore(path, { claim: 'sole' })).toThrow();
    expect(refusal('sole')).toBeUndefined();
  });

  it('checks nothing without a claim, as for tools run while no server is', async () => {
    claim('sole');
    const store = new SqliteTokenStore(path);
    expect(await store.count()).toBe(0);
    await store.close();
  });
});
