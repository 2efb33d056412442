/**
 * One store of its own for a describe block, for the testkits' useCatalogStack and usePurchaseStack.
 * Not a test file itself.
 */
import { afterAll, beforeAll } from 'vitest';
import type { ApiRequest, IsolatedStore, signUp } from './harness.js';

type User = Awaited<ReturnType<typeof signUp>>;

/**
 * Registers a beforeAll that starts `start()` and an afterAll that closes it, in the describe block
 * that calls it. Answers `started`, which reads what `start()` answered (and throws when called
 * before that, in the describe body, say), and `request`, a client of the started store that may
 * be taken in the describe body already: it finds the store when it is called.
 */
export function useIsolatedStore<Stack extends IsolatedStore>(start: () => Promise<Stack>) {
  let stack: Stack | undefined;
  beforeAll(async () => {
    stack = await start();
  });
  afterAll(() => stack?.close());
  const started = (): Stack => {
    if (!stack) throw new Error('the store starts in beforeAll: read it inside a test or a hook, not in the describe body');
    return stack;
  };
  const request: ApiRequest = (...args) => started().request(...args);
  return { started, request };
}

/**
 * An object whose `keys` are read from `read()` each time they are used, so that it may be taken in
 * a describe body before `read()` can answer.
 */
export function late<T extends object, K extends keyof T>(read: () => T, keys: readonly K[]): Pick<T, K> {
  const fields = {} as Pick<T, K>;
  for (const key of keys) Object.defineProperty(fields, key, { enumerable: true, get: () => read()[key] });
  return fields;
}

/** A user that may be taken in a describe body before it signed up (late). */
export const lateUser = (read: () => User): User => late(read, ['token', 'user', 'email', 'password', 'cookie']);
