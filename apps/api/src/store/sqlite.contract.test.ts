// The TokenStore contract on SQLite: each case on a new database file of its own.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { describeTokenStoreContract } from './contract.js';
import { SqliteTokenStore } from './sqlite.js';

const dir = mkdtempSync(join(tmpdir(), 'api-tokens-contract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let serial = 0;
let path = '';

describeTokenStoreContract('SQLite', () => ({
  async fresh(options) {
    path = join(dir, `tokens-${serial++}.db`);
    return new SqliteTokenStore(path, { checkpointEveryMs: 0, ...options });
  },
  async another(options) {
    return new SqliteTokenStore(path, { checkpointEveryMs: 0, ...options });
  },
}));
