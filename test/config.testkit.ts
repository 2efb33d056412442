/** What the configuration refuses, for the kernel's tests. Not a test file itself. */
import { ConfigError, loadConfig } from '../kernel/config.js';
import { MODULES } from '../kernel/registry.js';

/** The problems loadConfig names for `env` with `registry` ([] when it accepts it). */
export function configProblems(env: Record<string, string>, registry: Parameters<typeof loadConfig>[1] = MODULES): string[] {
  try {
    loadConfig(env, registry);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}
