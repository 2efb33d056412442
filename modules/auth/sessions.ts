import { sha256 } from '@oslojs/crypto/sha2';
import { constantTimeEqual } from '@oslojs/crypto/subtle';
import { encodeBase32LowerCaseNoPadding, encodeHexLowerCase } from '@oslojs/encoding';

/**
 * Session tokens after Lucia's current design: `<id>.<secret>`, each part 120 random bits. The id
 * finds the row; the secret is compared, in constant time, with the SHA-256 hash kept in the row.
 * A stolen database therefore holds no usable token.
 */
export const SESSION_LIFETIME_MS = 30 * 24 * 60 * 60 * 1000;
/** A session used in the second half of its life is extended to a full lifetime again. */
export const SESSION_RENEW_AFTER_MS = SESSION_LIFETIME_MS / 2;

function randomPart(): string {
  return encodeBase32LowerCaseNoPadding(crypto.getRandomValues(new Uint8Array(15)));
}

export function hashSecret(secret: string): string {
  return encodeHexLowerCase(sha256(new TextEncoder().encode(secret)));
}

export function newSessionToken(): { id: string; secretHash: string; token: string } {
  const id = randomPart();
  const secret = randomPart();
  return { id, secretHash: hashSecret(secret), token: `${id}.${secret}` };
}

export function parseSessionToken(token: string): { id: string; secret: string } | undefined {
  const match = /^([a-z2-7]{24})\.([a-z2-7]{24})$/.exec(token);
  return match ? { id: match[1]!, secret: match[2]! } : undefined;
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const given = new TextEncoder().encode(hashSecret(secret));
  const stored = new TextEncoder().encode(storedHash);
  return given.length === stored.length && constantTimeEqual(given, stored);
}
