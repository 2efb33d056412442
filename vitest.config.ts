import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['modules/**/*.test.ts', 'test/**/*.test.ts', 'jobs/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
