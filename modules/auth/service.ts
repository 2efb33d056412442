import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Caller, ResolvedSession } from '../../kernel/auth-context.js';
import type { EntityManager } from '../../kernel/module.js';
import { Problem } from '../../kernel/problem.js';
import { rateLimited, type RateLimiter, type RateLimitRule } from '../../kernel/rate-limit.js';
import { Session, User } from './entities.js';
import { hashPassword, verifyPassword } from './password.js';
import { SESSION_LIFETIME_MS, SESSION_RENEW_AFTER_MS, newSessionToken, parseSessionToken, secretMatches } from './sessions.js';

const FIFTEEN_MINUTES = 15 * 60 * 1000;
export const LOGIN_FAILURES_PER_EMAIL: RateLimitRule = { name: 'login-email', limit: 5, windowMs: FIFTEEN_MINUTES };
export const LOGIN_FAILURES_PER_ADDRESS: RateLimitRule = { name: 'login-address', limit: 20, windowMs: FIFTEEN_MINUTES };
export const REGISTRATIONS_PER_ADDRESS: RateLimitRule = { name: 'register-address', limit: 30, windowMs: 10 * 60 * 1000 };

export function publicUser(user: User): Caller {
  return { id: user.id, name: user.name, email: user.email, role: user.role, createdAt: user.createdAt.toISOString() };
}

export async function register(
  em: EntityManager,
  limiter: RateLimiter,
  input: { name: string; email: string; password: string },
  address: string,
): Promise<Caller> {
  const made = await limiter.peek(REGISTRATIONS_PER_ADDRESS, address);
  if (made.count >= REGISTRATIONS_PER_ADDRESS.limit) throw rateLimited(made.retryAfterSeconds, 'Too many new accounts from this address; try again later.');
  const email = input.email.toLowerCase();
  if (await em.count(User, { email })) throw emailTaken();
  const user = em.create(User, { name: input.name, email, passwordHash: await hashPassword(input.password), role: 'customer' });
  try {
    await em.flush();
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) throw emailTaken();
    throw error;
  }
  await limiter.hit(REGISTRATIONS_PER_ADDRESS, address);
  return publicUser(user);
}

const emailTaken = () => new Problem(409, 'email_taken', 'An account with this email already exists.');

export async function login(
  em: EntityManager,
  limiter: RateLimiter,
  input: { email: string; password: string },
  address: string,
): Promise<{ token: string; expiresAt: Date; user: Caller }> {
  const email = input.email.toLowerCase();
  const [byEmail, byAddress] = await Promise.all([limiter.peek(LOGIN_FAILURES_PER_EMAIL, email), limiter.peek(LOGIN_FAILURES_PER_ADDRESS, address)]);
  if (byEmail.count >= LOGIN_FAILURES_PER_EMAIL.limit) throw rateLimited(byEmail.retryAfterSeconds);
  if (byAddress.count >= LOGIN_FAILURES_PER_ADDRESS.limit) throw rateLimited(byAddress.retryAfterSeconds);

  const user = await em.findOne(User, { email });
  if (!user || !(await verifyPassword(user.passwordHash, input.password))) {
    await Promise.all([limiter.hit(LOGIN_FAILURES_PER_EMAIL, email), limiter.hit(LOGIN_FAILURES_PER_ADDRESS, address)]);
    throw new Problem(401, 'invalid_credentials', 'The email or password is wrong.');
  }
  await limiter.reset(LOGIN_FAILURES_PER_EMAIL, email);

  const { id, secretHash, token } = newSessionToken();
  const expiresAt = new Date(Date.now() + SESSION_LIFETIME_MS);
  em.create(Session, { id, secretHash, user, expiresAt });
  await em.flush();
  return { token, expiresAt, user: publicUser(user) };
}

/** Answers who holds a token, extending the session while it is in use. Expired sessions are deleted. */
export async function resolveSession(em: EntityManager, token: string): Promise<ResolvedSession | null> {
  const parsed = parseSessionToken(token);
  if (!parsed) return null;
  const session = await em.findOne(Session, { id: parsed.id }, { populate: ['user'] });
  if (!session || !secretMatches(parsed.secret, session.secretHash)) return null;
  const now = Date.now();
  if (session.expiresAt.getTime() <= now) {
    await em.nativeDelete(Session, { id: session.id });
    return null;
  }
  let renewed = false;
  if (session.expiresAt.getTime() - now < SESSION_LIFETIME_MS - SESSION_RENEW_AFTER_MS) {
    session.expiresAt = new Date(now + SESSION_LIFETIME_MS);
    await em.flush();
    renewed = true;
  }
  return { sessionId: session.id, user: publicUser(session.user), expiresAt: session.expiresAt.toISOString(), renewed };
}

export async function logout(em: EntityManager, sessionId: string): Promise<void> {
  await em.nativeDelete(Session, { id: sessionId });
}

export async function listUsers(em: EntityManager, page: number, limit: number) {
  const [users, total] = await em.findAndCount(User, {}, { orderBy: { id: 'asc' }, limit, offset: (page - 1) * limit });
  return { items: users.map(publicUser), page, limit, total };
}

/** The configured administrator exists, is an admin, and signs in with the configured password. */
export async function ensureAdmin(em: EntityManager, email: string, password: string): Promise<void> {
  const admin = await em.findOne(User, { email });
  if (!admin) {
    em.create(User, { name: 'Administrator', email, passwordHash: await hashPassword(password), role: 'admin' });
  } else {
    admin.role = 'admin';
    if (!(await verifyPassword(admin.passwordHash, password))) admin.passwordHash = await hashPassword(password);
  }
  await em.flush();
}

export async function ensureSeller(em: EntityManager, input: { name: string; email: string }): Promise<{ id: number }> {
  const email = input.email.toLowerCase();
  const existing = await em.findOne(User, { email });
  if (existing) return { id: existing.id };
  const seller = em.create(User, { name: input.name, email, passwordHash: null, role: 'customer' });
  await em.flush();
  return { id: seller.id };
}
