import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import type { Config } from './config.js';
import { forbidden, unauthorized } from './problem.js';
import { storeOrigin } from './request.js';
import type { AppEnv } from './app.js';
import type { SessionCache } from './session-cache.js';

export const SESSION_COOKIE = 'bookstore_session';

export type Role = 'customer' | 'admin';

export interface Caller {
  id: number;
  name: string;
  email: string;
  role: Role;
  createdAt: string;
}

export interface ResolvedSession {
  sessionId: string;
  user: Caller;
  expiresAt: string;
  /** The expiry moved forward on this use, so a cookie should be re-issued. */
  renewed: boolean;
}

/** What the module that provides sessions answers for a token; every module authenticates through it. */
export interface SessionResolver {
  resolveSession(input: { token: string }): Promise<ResolvedSession | null>;
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function credentials(c: Context): { token: string; via: 'bearer' | 'cookie' } | undefined {
  const header = c.req.header('authorization');
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match?.[1] ? { token: match[1], via: 'bearer' } : undefined;
  }
  const cookie = getCookie(c, SESSION_COOKIE);
  return cookie ? { token: cookie, via: 'cookie' } : undefined;
}

export function writeSessionCookie(c: Context, config: Config, token: string, expiresAt: Date) {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'Lax',
    path: '/',
    secure: storeOrigin(c, config.publicUrl, config.trustProxy).startsWith('https:'),
    expires: expiresAt,
  });
}

export function clearSessionCookie(c: Context, config: Config) {
  setCookie(c, SESSION_COOKIE, '', {
    httpOnly: true,
    sameSite: 'Lax',
    path: '/',
    secure: storeOrigin(c, config.publicUrl, config.trustProxy).startsWith('https:'),
    maxAge: 0,
  });
}

/**
 * The store's rule against cross-site request forgery: a request whose `Origin` names another site
 * (or `null`, an opaque one) is refused with 403. Browsers send `Origin` on every cross-site POST, so
 * where a missing one is `allowed` the request came from a client that is not a browser page (curl,
 * an app) and cannot ride on a visitor's cookie; where it is `required` it must be there and be ours.
 */
export function refuseForeignOrigin(c: Context, config: Config, missing: 'allowed' | 'required', detail: string): void {
  const origin = c.req.header('origin');
  if (origin === undefined && missing === 'allowed') return;
  if (origin === storeOrigin(c, config.publicUrl, config.trustProxy)) return;
  throw forbidden(detail);
}

/**
 * Route guard for routes that set the session cookie without one (sign-in, sign-up): a foreign site
 * must not sign a visitor in to an account of its choosing (login CSRF).
 */
export function fromOwnOrigin(config: Config): MiddlewareHandler<AppEnv> {
  return createMiddleware<AppEnv>(async (c, next) => {
    refuseForeignOrigin(c, config, 'allowed', 'Signing in or up must come from the store’s own origin.');
    await next();
  });
}

/**
 * Resolves the caller of every request that carries a token, by asking the module that provides
 * sessions (kernel/module.ts `sessions`), or the session cache for a session resolved moments ago
 * (a logout anywhere still takes effect on the next request everywhere, see SessionCache). A cookie-authenticated unsafe request must come from
 * the store's own origin, which stops cross-site request forgery.
 */
export function authContext(resolver: () => SessionResolver, config: Config, cache: SessionCache | undefined): MiddlewareHandler<AppEnv> {
  return createMiddleware<AppEnv>(async (c, next) => {
    const given = credentials(c);
    if (!given) return next();
    c.set('credentials', given.via);
    if (given.via === 'cookie' && UNSAFE_METHODS.has(c.req.method)) {
      refuseForeignOrigin(c, config, 'required', 'A cookie-authenticated change must come from the store’s own origin.');
    }
    const session = cache?.get(given.token) ?? (await resolveAndRemember(resolver(), cache, given.token));
    if (session) {
      c.set('session', session);
      c.set('caller', session.user);
      c.set('token', given.token);
      if (session.renewed && given.via === 'cookie') writeSessionCookie(c, config, given.token, new Date(session.expiresAt));
    }
    return next();
  });
}

async function resolveAndRemember(resolver: SessionResolver, cache: SessionCache | undefined, token: string): Promise<ResolvedSession | null> {
  const session = await resolver.resolveSession({ token });
  if (session) cache?.remember(token, session);
  return session;
}

/** Route guard: the request must be signed in. */
export const signedIn: MiddlewareHandler<AppEnv> = createMiddleware<AppEnv>(async (c, next) => {
  if (!c.var.caller) throw unauthorized();
  await next();
});

/** Route guard: the request must come from an administrator. */
export const adminOnly: MiddlewareHandler<AppEnv> = createMiddleware<AppEnv>(async (c, next) => {
  if (!c.var.caller) throw unauthorized();
  if (c.var.caller.role !== 'admin') throw forbidden('Only an administrator may do this.');
  await next();
});

/** The signed-in caller; use behind `signedIn`. */
export function callerOf(c: Context<AppEnv>): Caller {
  const caller = c.var.caller;
  if (!caller) throw unauthorized();
  return caller;
}
