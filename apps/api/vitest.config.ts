import { defineConfig } from 'vitest/config';

/** The HTTP-level tests of the operations that touch persistence, run again on PostgreSQL. */
const ON_POSTGRES = ['src/operations/**/*.test.ts'];

export default defineConfig({
  test: {
    setupFiles: ['test/setup.ts'],
    // Process-level tests start real servers; two cores, so keep the pool small.
    maxWorkers: 2,
    testTimeout: 20_000,
    projects: [
      { extends: true, test: { name: 'sqlite', include: ['src/**/*.test.ts', 'test/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'postgres',
          // PG_TEST_URL=skip: a machine without PostgreSQL (test/postgres.ts).
          include: process.env.PG_TEST_URL === 'skip' ? [] : ON_POSTGRES,
          env: { TEST_STORE: 'postgres' },
        },
      },
    ],
  },
});
