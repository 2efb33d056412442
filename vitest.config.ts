import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['modules/**/*.test.ts', 'test/**/*.test.ts', 'jobs/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/summary-reporter.ts'],
    // `npm run coverage`: line and branch coverage of the store's own code (not of the tests and
    // their helpers), as a summary on the console and coverage/coverage-summary.json.
    coverage: {
      provider: 'v8',
      include: ['kernel/**', 'modules/**', 'jobs/**'],
      exclude: ['**/*.test.ts', '**/*.testkit.ts'],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'coverage',
    },
  },
});
