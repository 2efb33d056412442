import { describe, expect, it } from 'vitest';
import { concurrencyLimit, hashPassword, verifyPassword } from './password.js';
import { Passwords } from './passwords.js';

describe('password hashing', () => {
  it('stores Argon2id with the OWASP parameters and verifies only the right password', async () => {
    const stored = await hashPassword('correct horse battery');
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(stored, 'correct horse battery')).toBe(true);
    expect(await verifyPassword(stored, 'wrong horse battery')).toBe(false);
  });

  it('an account without a password matches nothing, not even the decoy it is checked against', async () => {
    const passwords = await Passwords.load();
    expect(await passwords.verify(null, 'anything')).toBe(false);
    expect(await passwords.verify('', '')).toBe(false);
  });

  it('runs at most `max` pieces of work at once, and every one of them, a failing one included', async () => {
    const limit = concurrencyLimit(2);
    let running = 0;
    let most = 0;
    const finished: number[] = [];
    const work = (n: number) => async () => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5 + (n % 3)));
      running -= 1;
      finished.push(n);
      if (n === 3) throw new Error('a failure frees its place too');
      return n;
    };
    const results = await Promise.allSettled(Array.from({ length: 9 }, (_, n) => limit(work(n))));
    expect(most).toBe(2);
    expect(finished.sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : 'failed'))).toEqual([0, 1, 2, 'failed', 4, 5, 6, 7, 8]);
  });
});
