/**
 * Brings the stack up once before the swarm tests (test/swarm/swarm.sh up, with the tests' stack
 * override) and takes it down after them, also when they fail. BOOKSTORE_SWARM_KEEP=1 leaves it up.
 */
import { spawnSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    swarm: { ready: boolean; missing?: string };
  }
}

const script = 'test/swarm/swarm.sh';
const run = (command: 'up' | 'down') => {
  const started = Date.now();
  const result = spawnSync('bash', [script, command], {
    stdio: 'inherit',
    env: { ...process.env, BOOKSTORE_SWARM_OVERRIDE: 'test/swarm/stack.test-override.yml' },
  });
  console.log(`swarm ${command}: exit ${result.status} in ${Math.round((Date.now() - started) / 1000)} s`);
  return result.status === 0;
};

function engineMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: cannot run dockerd';
  const has = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
  if (!has('dockerd') && !has('apt-get')) return 'no dockerd and no apt-get to install it';
  return undefined;
}

export default function setup(project: TestProject) {
  const missing = engineMissing();
  if (missing) {
    project.provide('swarm', { ready: false, missing });
    return;
  }
  if (!run('up')) {
    run('down');
    throw new Error('swarm: the stack did not come up (see above)');
  }
  project.provide('swarm', { ready: true });
  return () => {
    if (process.env.BOOKSTORE_SWARM_KEEP !== '1') run('down');
  };
}
