// Admin recovery on a stopped store: a working all-capability token, and a refusal while anything holds the database.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { catalog } from '../../test/harness.js';
import { SqliteTokenStore } from '../store/sqlite.js';
import { allCapabilities } from '../tokens/capabilities.js';
import { TokenService } from '../tokens/service.js';
import { RECOVERED_TOKEN_NAME, RecoveryError, recoverAdmin } from './recover.js';

let dir: string;
let path: string;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'api-tokens-recover-'));
  path = join(dir, 'tokens.db');
  // A store that was bootstrapped, whose admin secret is now lost.
  const store = new SqliteTokenStore(path);
  await new TokenService({ store, catalog, clock: () => new Date() }).bootstrap();
  await store.close();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const refusal = async (databaseUrl: string) => {
  try {
    await recoverAdmin(databaseUrl);
  } catch (err) {
    return err;
  }
  return undefined;
};

describe('recoverAdmin', () => {
  it('creates a never-expiring token with every capability whose secret authenticates', async () => {
    const now = new Date('2026-11-29T10:00:00.000Z');
    const recovered = await recoverAdmin(`sqlite:${path}`, { now });
    expect(recovered).toMatchObject({ name: RECOVERED_TOKEN_NAME, createdAt: now.toISOString() });
    expect(recovered.description).toContain(now.toISOString());
    expect(recovered.secret).toMatch(/^xaat-/);

    const store = new SqliteTokenStore(path);
    try {
      const caller = await new TokenService({ store, catalog, clock: () => new Date() }).authenticate(
        recovered.secret,
      );
      expect(caller).toMatchObject({ id: recovered.id, expiresAt: null, ...allCapabilities(catalog) });
      expect(await store.count()).toBe(2);
    } finally {
      await store.close();
    }
  });

  it('refuses in one line while a server with the auth cache on (sole claim) holds the database', async () => {
    const server = new SqliteTokenStore(path, { claim: 'sole' });
    try {
      const err = await refusal(`sqlite:${path}`);
      expect(err).toBeInstanceOf(RecoveryError);
      expect((err as Error).message).toMatch(/server is using this database; stop it/);
      expect((err as Error).message).not.toContain('\n');
      expect(await server.count()).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('refuses too while a server with AUTH_CACHE_SIZE=0 (shared claim) holds the database', async () => {
    const server = new SqliteTokenStore(path, { claim: 'shared' });
    try {
      expect(await refusal(`sqlite:${path}`)).toBeInstanceOf(RecoveryError);
      expect(await server.count()).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('refuses a SQLite path where no database is, and creates none', async () => {
    const missing = join(dir, 'typo.db');
    const err = await refusal(`sqlite:${missing}`);
    expect(err).toBeInstanceOf(RecoveryError);
    expect((err as Error).message).toMatch(/no SQLite database at/);
    expect(existsSync(missing)).toBe(false);
  });

  it('refuses a database URL it cannot use, without echoing it', async () => {
    const err = await refusal('mysql://user:hunter2@db/tokens');
    expect(err).toBeInstanceOf(RecoveryError);
    expect((err as Error).message).toMatch(/^database: DATABASE_URL: unsupported value/);
    expect((err as Error).message).not.toContain('hunter2');
  });
});
