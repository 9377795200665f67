import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The process tests start real servers and run the built CLI; two cores, so keep the pool small.
    maxWorkers: 2,
    testTimeout: 30_000,
  },
});
