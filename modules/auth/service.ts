import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Caller, ResolvedSession } from '../../kernel/auth-context.js';
import type { EntityManager } from '../../kernel/module.js';
import { Problem } from '../../kernel/problem.js';
import type { RateLimiter, RateLimitRule } from '../../kernel/rate-limit.js';
import type { SqlRow } from '../../kernel/sql-table.js';
import { Session, User } from './entities.js';
import { hashPassword, verifyPassword } from './password.js';
import type { Passwords } from './passwords.js';
import { SESSIONS, USERS } from './rows.js';
import { SESSION_LIFETIME_MS, SESSION_RENEW_AFTER_MS, newSessionToken, parseSessionToken, secretMatches } from './sessions.js';

const FIFTEEN_MINUTES = 15 * 60 * 1000;
/** Password checks: a sign-in takes a point of each before Argon2 runs; a successful one gives them back. */
const PASSWORD_CHECKS_PER_EMAIL: RateLimitRule = { name: 'login-email', limit: 5, windowMs: FIFTEEN_MINUTES };
const PASSWORD_CHECKS_PER_ADDRESS: RateLimitRule = { name: 'login-address', limit: 20, windowMs: FIFTEEN_MINUTES };
/** Sign-up attempts that pass validation, taken before the password is hashed; one whose email is taken counts too. */
const REGISTRATIONS_PER_ADDRESS: RateLimitRule = { name: 'register-address', limit: 30, windowMs: 10 * 60 * 1000 };

export function publicUser(user: User): Caller {
  return { id: user.id, name: user.name, email: user.email, role: user.role, createdAt: user.createdAt.toISOString() };
}

export async function register(
  em: EntityManager,
  limiter: RateLimiter,
  passwords: Passwords,
  input: { name: string; email: string; password: string },
  address: string,
): Promise<Caller> {
  passwords.enforce(input);
  await limiter.take(REGISTRATIONS_PER_ADDRESS, address, 'Too many new accounts from this address; try again later.');
  const email = input.email.toLowerCase();
  if (await em.count(User, { email })) throw emailTaken();
  const user = em.create(User, { name: input.name, email, passwordHash: await hashPassword(input.password), role: 'customer' });
  try {
    await em.flush();
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) throw emailTaken();
    throw error;
  }
  return publicUser(user);
}

/**
 * Takes one password check for the client address, then one for the email, or refuses with 429; a
 * refused request gives back what it took, so both counts are of passwords checked or being checked
 * (and an address past its own limit cannot use up, so lock, other people's accounts).
 */
async function takePasswordCheck(limiter: RateLimiter, email: string, address: string): Promise<void> {
  await limiter.take(PASSWORD_CHECKS_PER_ADDRESS, address);
  try {
    await limiter.take(PASSWORD_CHECKS_PER_EMAIL, email);
  } catch (refused) {
    await limiter.giveBack(PASSWORD_CHECKS_PER_ADDRESS, address).catch(() => undefined);
    throw refused;
  }
}

const emailTaken = () => new Problem(409, 'email_taken', 'An account with this email already exists.');

export async function login(
  em: EntityManager,
  limiter: RateLimiter,
  passwords: Passwords,
  input: { email: string; password: string },
  address: string,
): Promise<{ token: string; expiresAt: Date; user: Caller }> {
  const email = input.email.toLowerCase();
  await takePasswordCheck(limiter, email, address);
  const user = await em.findOne(User, { email });
  // Verified whether or not the email is known (a decoy hash stands in), so both failures take as long.
  const verified = await passwords.verify(user?.passwordHash, input.password);
  if (!user || !verified) throw new Problem(401, 'invalid_credentials', 'The email or password is wrong.');
  // Only failures accumulate: the owner signing in clears the email's count and the address's point.
  await Promise.all([limiter.reset(PASSWORD_CHECKS_PER_EMAIL, email), limiter.giveBack(PASSWORD_CHECKS_PER_ADDRESS, address)]);

  const { id, secretHash, token } = newSessionToken();
  const expiresAt = new Date(Date.now() + SESSION_LIFETIME_MS);
  em.create(Session, { id, secretHash, user, expiresAt });
  await em.flush();
  return { token, expiresAt, user: publicUser(user) };
}

const SESSION_FIELDS = ['secretHash', 'expiresAt'] as const;
const USER_FIELDS = ['id', 'name', 'email', 'role', 'createdAt'] as const;
const READ_SESSION = `select ${SESSIONS.list(SESSION_FIELDS, 's')}, ${USERS.list(USER_FIELDS, 'u')}
  from ${SESSIONS.name} s join ${USERS.name} u on ${USERS.column('id', 'u')} = ${SESSIONS.column('user', 's')} where ${SESSIONS.column('id', 's')} = ?`;

/**
 * Answers who holds a token, extending the session while it is in use; expired sessions are
 * deleted. Every authenticated request in every service comes here, so it is one indexed query
 * without the unit of work, and a write only when the session is renewed.
 */
export async function resolveSession(em: EntityManager, token: string): Promise<ResolvedSession | null> {
  const parsed = parseSessionToken(token);
  if (!parsed) return null;
  const [row] = await em.getConnection().execute<SqlRow[]>(READ_SESSION, [parsed.id]);
  if (!row) return null;
  const session = SESSIONS.fromRow(row, SESSION_FIELDS);
  if (!secretMatches(parsed.secret, session.secretHash)) return null;
  const now = Date.now();
  let { expiresAt } = session;
  if (expiresAt.getTime() <= now) {
    await em.nativeDelete(Session, { id: parsed.id });
    return null;
  }
  let renewed = false;
  if (expiresAt.getTime() - now < SESSION_LIFETIME_MS - SESSION_RENEW_AFTER_MS) {
    expiresAt = new Date(now + SESSION_LIFETIME_MS);
    await em.nativeUpdate(Session, { id: parsed.id }, { expiresAt });
    renewed = true;
  }
  const holder = USERS.fromRow(row, USER_FIELDS);
  const user = { ...holder, createdAt: holder.createdAt.toISOString() };
  return { sessionId: parsed.id, user, expiresAt: expiresAt.toISOString(), renewed };
}

export async function logout(em: EntityManager, sessionId: string): Promise<void> {
  await em.nativeDelete(Session, { id: sessionId });
}

export async function listUsers(em: EntityManager, page: number, limit: number) {
  const [users, total] = await em.findAndCount(User, {}, { orderBy: { id: 'asc' }, limit, offset: (page - 1) * limit });
  return { items: users.map(publicUser), page, limit, total };
}

const ADMIN_ATTEMPTS = 5;

/**
 * The configured administrator exists, is an admin, and signs in with the configured password.
 * Several auth tasks start at once (replicas, a start-first update), so every write is one that can
 * lose without harm: one insert wins the unique email and the others read its row; the role and
 * password are compare-and-set against the row as read, and a task whose write lost reads again and
 * finds them right.
 */
export async function ensureAdmin(em: EntityManager, email: string, password: string): Promise<void> {
  for (let attempt = 1; attempt <= ADMIN_ATTEMPTS; attempt++) {
    if (await adminSettled(em.fork(), email, password)) return;
  }
  throw new Error(`the administrator ${email} kept changing under this process; is another one starting with another password?`);
}

/** One read and at most one write; false when another process wrote first. */
async function adminSettled(em: EntityManager, email: string, password: string): Promise<boolean> {
  const admin = await em.findOne(User, { email });
  if (!admin) return (await insertOnce(em, { name: 'Administrator', email, passwordHash: await hashPassword(password), role: 'admin' })) !== undefined;
  const current = admin.passwordHash ?? null;
  const kept = current !== null && (await verifyPassword(current, password)) ? current : undefined;
  if (kept && admin.role === 'admin') return true;
  const passwordHash = kept ?? (await hashPassword(password));
  const changed = await em.nativeUpdate(User, { id: admin.id, role: admin.role, passwordHash: current }, { role: 'admin', passwordHash });
  return changed === 1;
}

/** Inserts the account unless its email is taken meanwhile (undefined: read it again, in a new fork). */
async function insertOnce(em: EntityManager, data: Pick<User, 'name' | 'email' | 'passwordHash' | 'role'>): Promise<User | undefined> {
  const user = em.create(User, data);
  try {
    await em.flush();
    return user;
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) return undefined;
    throw error;
  }
}

/** Internal operation: safe to repeat, and to run twice at once (the second finds the first's row). */
export async function ensureSeller(em: EntityManager, input: { name: string; email: string }): Promise<{ id: number }> {
  const email = input.email.toLowerCase();
  const existing = await em.findOne(User, { email });
  if (existing) return { id: existing.id };
  const seller = await insertOnce(em, { name: input.name, email, passwordHash: null, role: 'customer' });
  return { id: seller?.id ?? (await em.fork().findOneOrFail(User, { email })).id };
}
