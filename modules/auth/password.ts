import { hash, verify, type Options } from '@node-rs/argon2';

/** OWASP's Argon2id recommendation: 19 MiB, two passes, one lane. Runs off the event loop. */
// `algorithm: 2` is Algorithm.Argon2id (a const enum that isolated modules cannot read).
const ARGON2ID: Options = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 };

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2ID);
}

/** A real hash to verify against when the email is unknown, so both failures take the same time. */
let decoy: Promise<string> | undefined;

export async function verifyPassword(storedHash: string | null | undefined, password: string): Promise<boolean> {
  if (!storedHash) {
    decoy ??= hashPassword('decoy password that matches nothing');
    await verify(await decoy, password).catch(() => false);
    return false;
  }
  return verify(storedHash, password).catch(() => false);
}
