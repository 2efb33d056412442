import { Problem } from '../../kernel/problem.js';
import { decoyHash, verifyPassword } from './password.js';

/**
 * The auth module's passwords: which ones a new account may choose, and checking one at sign-in
 * without telling whether the email is known. Made once by the auth routes, so processes that do
 * not run the auth module never load the list nor compute the decoy.
 *
 * Choosing follows OWASP ASVS 5 (V6.2): 8–128 characters (the request schema checks those), not
 * white space alone, not one of the passwords most often found in breaches, and not the account's
 * own email address, the part before its @, or its name. Compared without case and surrounding
 * white space. Sign-in accepts whatever was stored: the rules are for choosing.
 */
export class Passwords {
  private constructor(
    private readonly common: ReadonlySet<string>,
    private readonly decoy: string,
  ) {}

  /** zxcvbn-ts's list of common passwords (about 49,000, lower-case) and the decoy hash. */
  static async load(): Promise<Passwords> {
    const [{ dictionary }, decoy] = await Promise.all([import('@zxcvbn-ts/language-common'), decoyHash()]);
    return new Passwords(new Set(dictionary['passwords-common']), decoy);
  }

  /**
   * Whether `password` is the one stored. An account without one (an unknown email, a demo seller)
   * is checked against the decoy, so that both failures take as long as a wrong password.
   */
  async verify(storedHash: string | null | undefined, password: string): Promise<boolean> {
    const matches = await verifyPassword(storedHash || this.decoy, password);
    return matches && Boolean(storedHash);
  }

  /** Why this account may not have this password, or undefined when it may. */
  objection(account: { name: string; email: string; password: string }): string | undefined {
    const chosen = comparable(account.password);
    if (chosen === '') return 'must not be white space only';
    if (this.common.has(chosen)) return 'is one of the most common passwords; choose one that is harder to guess';
    const own = [account.email, account.email.split('@')[0] ?? '', account.name].map(comparable);
    if (own.includes(chosen)) return 'must not be your email address or your name';
    return undefined;
  }

  /** Refuses the password with `400 validation_failed`, as the request schema would. */
  enforce(account: { name: string; email: string; password: string }): void {
    const objection = this.objection(account);
    if (objection) throw new Problem(400, 'validation_failed', 'The request body is invalid.', [{ path: 'password', message: objection }]);
  }
}

const comparable = (text: string) => text.trim().toLowerCase();
