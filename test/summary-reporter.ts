import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends the run with one plain line, `Summary: N passed, N failed, N skipped`, that CI systems
 * read regardless of the runner. Failed modules (a file that could not even load) count as failed.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>) {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    for (const module of testModules) {
      if (module.state() === 'failed' && [...module.children.allTests()].length === 0) failed += 1;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed += 1;
        else if (state === 'failed') failed += 1;
        else skipped += 1;
      }
    }
    console.log(`\nSummary: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  }
}
