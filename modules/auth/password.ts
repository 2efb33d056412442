import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { hash, verify, type Options } from '@node-rs/argon2';

/** OWASP's Argon2id recommendation: 19 MiB, two passes, one lane. Runs off the event loop. */
// `algorithm: 2` is Algorithm.Argon2id (a const enum that isolated modules cannot read).
const ARGON2ID: Options = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 };

/**
 * Hashes running at once in this process: one core fewer than the process may use, at least one.
 * Each hash holds a core and 19 MiB outside the JS heap for tens of milliseconds; libuv would run
 * four at once (its thread pool), which would take every core from the event loop, so a burst of
 * logins would stall every other request. Waiting hashes queue here, where nothing else waits.
 */
export const MAX_CONCURRENT_HASHES = Math.max(1, availableParallelism() - 1);

/** Runs `work` when fewer than `max` others are running; a finished one hands its place to the next. */
export function concurrencyLimit(max: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(work: () => Promise<T>): Promise<T> => {
    if (running < max) running += 1;
    else await new Promise<void>((takePlace) => waiting.push(takePlace));
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running -= 1;
    }
  };
}

const argon2 = concurrencyLimit(MAX_CONCURRENT_HASHES);

export function hashPassword(password: string): Promise<string> {
  return argon2(() => hash(password, ARGON2ID));
}

export function verifyPassword(storedHash: string, password: string): Promise<boolean> {
  return argon2(() => verify(storedHash, password)).catch(() => false);
}

/**
 * A real hash with the same parameters, of a random secret nobody knows: what an unknown email is
 * verified against, so that its failure costs the same Argon2id work as a wrong password.
 */
export function decoyHash(): Promise<string> {
  return hashPassword(randomBytes(32).toString('base64'));
}
