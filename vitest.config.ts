import { defineConfig } from 'vitest/config';

// One pair of real PostgreSQL servers (15 source, 17 target) is started per run by the global setup
// and shared by every test file; test files run in parallel against their own databases.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/harness/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: ['default'],
  },
});
