import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The tests start real api-tokens servers and pack the package; two cores, so keep the pool small.
    maxWorkers: 2,
    testTimeout: 30_000,
  },
});
