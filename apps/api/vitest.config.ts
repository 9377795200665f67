import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    // Process-level tests start real servers; two cores, so keep the pool small.
    maxWorkers: 2,
    testTimeout: 20_000,
  },
});
