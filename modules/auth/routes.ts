import { Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import * as v from 'valibot';
import type { AppEnv } from '../../kernel/app.js';
import { adminOnly, callerOf, clearSessionCookie, fromOwnOrigin, signedIn, writeSessionCookie } from '../../kernel/auth-context.js';
import type { ModuleContext } from '../../kernel/module.js';
import { jsonContent, pageOf, problemContent, signedInSecurity } from '../../kernel/openapi.js';
import { clientAddress } from '../../kernel/request.js';
import { pageQuery, valid } from '../../kernel/validation.js';
import { Passwords } from './passwords.js';
import { LoginBody, RegisterBody, UserSchema } from './schemas.js';
import * as auth from './service.js';

const UserEnvelope = v.object({ user: UserSchema });
const invalid = problemContent('Invalid request (validation_failed or malformed_json)');
const notSignedIn = problemContent('Not signed in (unauthorized)');
const foreignOrigin = problemContent('Sent with the Origin of another site (forbidden); requests without Origin are accepted');

/** The auth module's public routes, one named step per route. */
export function authRoutes(ctx: ModuleContext): Hono<AppEnv> {
  const passwords = Passwords.load();
  const app = new Hono<AppEnv>();
  register(app, ctx, passwords);
  login(app, ctx, passwords);
  logout(app, ctx);
  currentUser(app);
  listUsers(app);
  return app;
}

/** `POST /register`: a new customer account, once the password passes the sign-up rules. */
function register(app: Hono<AppEnv>, { config, rateLimiter }: ModuleContext, passwords: Promise<Passwords>): void {
  app.post(
    '/register',
    describeRoute({
      tags: ['auth'],
      summary: 'Create a customer account',
      responses: {
        201: jsonContent(UserEnvelope, 'The new account'),
        400: problemContent(
          'Invalid request (validation_failed or malformed_json). The password must be 8-128 characters, not white space only, not among the ~49,000 most common passwords, and not the account’s email, the part before its @, or its name (ignoring case); the field error on password says which',
        ),
        403: foreignOrigin,
        409: problemContent('The email is taken, ignoring case (email_taken)'),
        429: problemContent('More than 30 sign-up attempts from this address in 10 minutes (rate_limited, with Retry-After)'),
      },
    }),
    fromOwnOrigin(config),
    valid('json', RegisterBody),
    async (c) => {
      const user = await auth.register(c.var.em, rateLimiter, await passwords, c.req.valid('json'), clientAddress(c, config.trustProxy));
      return c.json({ user }, 201);
    },
  );
}

/** `POST /login`: a session, answered as a bearer token and set as the session cookie. */
function login(app: Hono<AppEnv>, { config, rateLimiter }: ModuleContext, passwords: Promise<Passwords>): void {
  app.post(
    '/login',
    describeRoute({
      tags: ['auth'],
      summary: 'Sign in; answers a bearer token and sets the session cookie',
      responses: {
        200: jsonContent(v.object({ token: v.string(), expiresAt: v.string(), user: UserSchema }), 'Signed in'),
        400: invalid,
        401: problemContent('Unknown email or wrong password, answered alike (invalid_credentials)'),
        403: foreignOrigin,
        429: problemContent(
          'Past 5 password checks for one email or 20 for one client address in 15 minutes; checks still running count, a successful sign-in gives its checks back (rate_limited, with Retry-After)',
        ),
      },
    }),
    fromOwnOrigin(config),
    valid('json', LoginBody),
    async (c) => {
      const session = await auth.login(c.var.em, rateLimiter, await passwords, c.req.valid('json'), clientAddress(c, config.trustProxy));
      writeSessionCookie(c, config, session.token, session.expiresAt);
      return c.json({ token: session.token, expiresAt: session.expiresAt.toISOString(), user: session.user });
    },
  );
}

/** `POST /logout`: ends the session in every process before answering. */
function logout(app: Hono<AppEnv>, ctx: ModuleContext): void {
  app.post(
    '/logout',
    describeRoute({
      tags: ['auth'],
      summary: 'End this session everywhere at once',
      security: signedInSecurity,
      responses: { 204: { description: 'Signed out; the token and cookie stop working in every service' }, 401: notSignedIn },
    }),
    signedIn,
    async (c) => {
      const { sessionId } = c.var.session!;
      await auth.logout(c.var.em, sessionId);
      // Before answering: no process may recognise the token once the client hears it is gone.
      await ctx.sessions?.ended(sessionId);
      clearSessionCookie(c, ctx.config);
      return c.body(null, 204);
    },
  );
}

/** `GET /me`: the signed-in user. */
function currentUser(app: Hono<AppEnv>): void {
  app.get(
    '/me',
    describeRoute({
      tags: ['auth'],
      summary: 'The signed-in user',
      security: signedInSecurity,
      responses: { 200: jsonContent(UserEnvelope, 'The caller'), 401: notSignedIn },
    }),
    signedIn,
    (c) => c.json({ user: callerOf(c) }),
  );
}

/** `GET /users`: every account, a page at a time, for administrators. */
function listUsers(app: Hono<AppEnv>): void {
  app.get(
    '/users',
    describeRoute({
      tags: ['auth'],
      summary: 'All accounts (administrators only)',
      security: signedInSecurity,
      responses: {
        200: jsonContent(pageOf(UserSchema), 'A page of users, oldest first'),
        400: invalid,
        401: notSignedIn,
        403: problemContent('Not an administrator (forbidden)'),
      },
    }),
    adminOnly,
    valid('query', v.object(pageQuery)),
    async (c) => {
      const { page, limit } = c.req.valid('query');
      return c.json(await auth.listUsers(c.var.em, page, limit));
    },
  );
}
