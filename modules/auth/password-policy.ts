import { Problem } from '../../kernel/problem.js';

/**
 * Which passwords a new account may choose, after OWASP ASVS 5 (V6.2): 8–128 characters (the
 * request schema checks those), not white space alone, not one of the passwords most often found in
 * breaches, and not the account's own email address, the part before its @, or its name. Compared
 * without case and surrounding white space. Sign-in accepts whatever was stored: this is for choosing.
 */
export class PasswordPolicy {
  private constructor(private readonly common: ReadonlySet<string>) {}

  /**
   * Loads zxcvbn-ts's list of common passwords (about 49,000, lower-case) once, in a process that
   * runs the auth module; the others never pay its few megabytes.
   */
  static async load(): Promise<PasswordPolicy> {
    const { dictionary } = await import('@zxcvbn-ts/language-common');
    return new PasswordPolicy(new Set(dictionary['passwords-common']));
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
