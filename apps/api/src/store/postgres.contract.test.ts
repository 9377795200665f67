// The TokenStore contract on PostgreSQL: a database of this file's own, emptied before each case.
import { afterAll, beforeAll, describe } from 'vitest';
import { createTestDatabase, pgSkipped, resetTestDatabase, type TestDatabase } from '../../test/postgres.js';
import { describeTokenStoreContract } from './contract.js';
import { PostgresTokenStore } from './postgres.js';

let database: TestDatabase;
beforeAll(async () => {
  if (!pgSkipped) database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

describe.skipIf(pgSkipped)('PostgreSQL', () => {
  describeTokenStoreContract('PostgreSQL', () => ({
    async fresh(options) {
      await resetTestDatabase(database.url);
      return PostgresTokenStore.open(database.url, { poolSize: 4, ...options });
    },
    another: (options) => PostgresTokenStore.open(database.url, { poolSize: 4, ...options }),
  }));
});
