import { defineConfig } from 'vitest/config';

// `npm run test:swarm`: the tests against the real stack on a one-node Docker swarm. Kept apart
// from `npm test` (vitest.config.ts at the root), which never needs Docker: these files end in
// .swarm.ts, which the root config does not include.
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/swarm/**/*.swarm.ts'],
    globalSetup: ['test/swarm/global-setup.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 900_000,
    hookTimeout: 300_000,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
