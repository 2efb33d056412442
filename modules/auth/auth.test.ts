import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningStore } from '../../kernel/store.js';
import {
  apiClient,
  servicesAvailable,
  signUp,
  startTestStore,
  uniqueEmail,
  type ApiRequest,
  type TestDatabase,
  type TestRedis,
  expectProblem,
  startIsolatedStore,
  type IsolatedStore,
} from '../../test/harness.js';

const ready = await servicesAvailable('modules/auth/auth.test.ts', ['mysql', 'redis']);

const ADMIN = { email: 'root.admin@example.test', password: 'admin password 123' };

let nextAddress = 1;
/** A client address of its own per test, so that per-address limits of one test do not leak into another. */
const address = () => ({ 'x-forwarded-for': `198.51.100.${nextAddress++}` });

describe.runIf(ready)('auth on MariaDB and Redis', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let store: RunningStore;
  let request: ApiRequest;
  let stack: IsolatedStore;

  beforeAll(async () => {
    stack = await startIsolatedStore({
      BOOKSTORE_ADMIN_EMAIL: ADMIN.email,
      BOOKSTORE_ADMIN_PASSWORD: ADMIN.password,
    });
    ({ db, redis, store, request } = stack);
  });

  afterAll(() => stack?.close());

  describe('POST /register', () => {
    it('creates a customer and never returns the password', async () => {
      const email = uniqueEmail('ann');
      const response = await request('POST', '/api/auth/register', { body: { name: 'Ann Reader', email, password: 'long enough' }, headers: address() });
      expect(response.status).toBe(201);
      expect(response.body.user).toEqual({ id: expect.any(Number), name: 'Ann Reader', email, role: 'customer', createdAt: expect.any(String) });
      expect(JSON.stringify(response.body)).not.toContain('long enough');
      const [row] = (await db.query('select password_hash from auth_users where email = ?', [email])) as { password_hash: string }[];
      expect(row!.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    });

    it('answers 409 email_taken for the same email in another case', async () => {
      const email = uniqueEmail('case');
      await request('POST', '/api/auth/register', { body: { name: 'A', email, password: 'long enough' }, headers: address() });
      const again = await request('POST', '/api/auth/register', { body: { name: 'B', email: email.toUpperCase(), password: 'long enough' }, headers: address() });
      expectProblem(again, 409, 'email_taken');
    });

    it.each([
      ['a bad email', { name: 'N', email: 'not-an-email', password: 'long enough' }, 'email'],
      ['a short password', { name: 'N', email: 'x@example.test', password: 'short' }, 'password'],
      ['a long password', { name: 'N', email: 'x@example.test', password: 'p'.repeat(129) }, 'password'],
      ['an empty name', { name: '  ', email: 'x@example.test', password: 'long enough' }, 'name'],
      ['a long name', { name: 'n'.repeat(151), email: 'x@example.test', password: 'long enough' }, 'name'],
      ['a number as name', { name: 42, email: 'x@example.test', password: 'long enough' }, 'name'],
      ['a smuggled role', { name: 'N', email: 'x@example.test', password: 'long enough', role: 'admin' }, 'role'],
    ])('answers 400 validation_failed for %s', async (_label, body, path) => {
      const response = await request('POST', '/api/auth/register', { body, headers: address() });
      expectProblem(response, 400, 'validation_failed');
      expect(response.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    });

    it('limits one address to 30 new accounts per 10 minutes', async () => {
      const headers = address();
      for (let i = 0; i < 30; i++) {
        const ok = await request('POST', '/api/auth/register', { body: { name: 'Bulk', email: uniqueEmail('bulk'), password: 'long enough' }, headers });
        expect(ok.status).toBe(201);
      }
      const refused = await request('POST', '/api/auth/register', { body: { name: 'Bulk', email: uniqueEmail('bulk'), password: 'long enough' }, headers });
      expectProblem(refused, 429, 'rate_limited');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      const elsewhere = await request('POST', '/api/auth/register', { body: { name: 'Bulk', email: uniqueEmail('bulk'), password: 'long enough' }, headers: address() });
      expect(elsewhere.status).toBe(201);
    });
  });

  describe('POST /login', () => {
    it('answers a token, its expiry, the user and a secure-by-default cookie', async () => {
      const { email, password, user } = await signUp(request, 'Login Person');
      const response = await request('POST', '/api/auth/login', { body: { email: email.toUpperCase(), password }, headers: address() });
      expect(response.status).toBe(200);
      expect(response.body.user).toEqual(user);
      expect(response.body.token).toMatch(/^[a-z2-7]{24}\.[a-z2-7]{24}$/);
      const expiresIn = Date.parse(response.body.expiresAt) - Date.now();
      expect(expiresIn).toBeGreaterThan(29 * 24 * 3600 * 1000);
      expect(expiresIn).toBeLessThanOrEqual(30 * 24 * 3600 * 1000);
      const cookie = response.headers.get('set-cookie')!;
      expect(cookie).toContain(`bookstore_session=${response.body.token}`);
      expect(cookie).toMatch(/HttpOnly/i);
      expect(cookie).toMatch(/SameSite=Lax/i);
      expect(cookie).not.toMatch(/Secure/i); // plain http here; https gets Secure (see the forwarded-proto test)
    });

    it('stores only a hash of the session secret', async () => {
      const { token } = await signUp(request, 'Hash Check');
      const [id, secret] = token.split('.');
      const rows = (await db.query('select id, secret_hash from auth_sessions where id = ?', [id])) as { id: string; secret_hash: string }[];
      expect(rows).toHaveLength(1);
      expect(rows[0]!.secret_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(rows[0]!.secret_hash).not.toContain(secret);
    });

    it('marks the cookie Secure when the trusted proxy says the request came over https', async () => {
      const { email, password } = await signUp(request, 'Https Person');
      const response = await request('POST', '/api/auth/login', { body: { email, password }, headers: { ...address(), 'x-forwarded-proto': 'https' } });
      expect(response.headers.get('set-cookie')).toMatch(/Secure/);
    });

    it('answers unknown email and wrong password alike', async () => {
      const { email } = await signUp(request, 'Alike');
      const wrongPassword = await request('POST', '/api/auth/login', { body: { email, password: 'not the password' }, headers: address() });
      const unknownEmail = await request('POST', '/api/auth/login', { body: { email: uniqueEmail('ghost'), password: 'whatever123' }, headers: address() });
      expectProblem(wrongPassword, 401, 'invalid_credentials');
      expectProblem(unknownEmail, 401, 'invalid_credentials');
      expect(wrongPassword.body.detail).toBe(unknownEmail.body.detail);
    });

    it('answers 400 for a missing field and for unknown fields', async () => {
      expectProblem(await request('POST', '/api/auth/login', { body: { email: 'a@example.test' } }), 400, 'validation_failed');
      expectProblem(await request('POST', '/api/auth/login', { body: { email: 'a@example.test', password: 'x', remember: true } }), 400, 'validation_failed');
    });

    it('locks an email after 5 failures with 429 and Retry-After, even for the right password', async () => {
      const { email, password } = await signUp(request, 'Locked Out');
      for (let i = 0; i < 5; i++) {
        expectProblem(await request('POST', '/api/auth/login', { body: { email, password: 'wrong password' }, headers: address() }), 401, 'invalid_credentials');
      }
      const locked = await request('POST', '/api/auth/login', { body: { email, password }, headers: address() });
      expectProblem(locked, 429, 'rate_limited');
      const retryAfter = Number(locked.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    });

    it('locks a client address after 20 failures, whatever the email', async () => {
      const headers = address();
      for (let i = 0; i < 20; i++) {
        expect((await request('POST', '/api/auth/login', { body: { email: uniqueEmail('spray'), password: 'guess123' }, headers })).status).toBe(401);
      }
      const { email, password } = await signUp(request, 'Innocent');
      expectProblem(await request('POST', '/api/auth/login', { body: { email, password }, headers }), 429, 'rate_limited');
      expect((await request('POST', '/api/auth/login', { body: { email, password }, headers: address() })).status).toBe(200);
    });

    it('holds the limit across two app instances sharing Redis', async () => {
      const second = await startTestStore({ DATABASE_URL: db.url, REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix });
      try {
        const other = apiClient(second.url);
        const { email, password } = await signUp(request, 'Two Replicas');
        for (let i = 0; i < 5; i++) {
          const replica = i % 2 === 0 ? request : other;
          expect((await replica('POST', '/api/auth/login', { body: { email, password: 'wrong password' }, headers: address() })).status).toBe(401);
        }
        expectProblem(await other('POST', '/api/auth/login', { body: { email, password }, headers: address() }), 429, 'rate_limited');
        expectProblem(await request('POST', '/api/auth/login', { body: { email, password }, headers: address() }), 429, 'rate_limited');
      } finally {
        await second.close();
      }
    });
  });

  describe('sessions', () => {
    it('GET /me answers the signed-in user by Bearer token and by cookie', async () => {
      const { token, user } = await signUp(request, 'Me Myself');
      const byBearer = await request('GET', '/api/auth/me', { token });
      expect(byBearer.status).toBe(200);
      expect(byBearer.body.user).toEqual(user);
      const byCookie = await request('GET', '/api/auth/me', { headers: { cookie: `bookstore_session=${token}` } });
      expect(byCookie.body.user).toEqual(user);
    });

    it.each([
      ['no token', {}],
      ['a garbage token', { authorization: 'Bearer garbage' }],
      ['a well-formed unknown token', { authorization: `Bearer ${'a'.repeat(24)}.${'b'.repeat(24)}` }],
      ['a non-Bearer scheme', { authorization: 'Basic dXNlcjpwYXNz' }],
    ])('GET /me answers 401 for %s', async (_label, headers) => {
      expectProblem(await request('GET', '/api/auth/me', { headers }), 401, 'unauthorized');
    });

    it('rejects a token whose secret is wrong even though its id exists', async () => {
      const { token } = await signUp(request, 'Forger');
      const [id] = token.split('.');
      expectProblem(await request('GET', '/api/auth/me', { token: `${id}.${'c'.repeat(24)}` }), 401, 'unauthorized');
    });

    it('POST /logout ends the session at once: the token and the cookie stop working', async () => {
      const { token } = await signUp(request, 'Leaving Soon');
      const out = await request('POST', '/api/auth/logout', { token });
      expect(out.status).toBe(204);
      expect(out.headers.get('set-cookie')).toMatch(/bookstore_session=;.*Max-Age=0/i);
      expectProblem(await request('GET', '/api/auth/me', { token }), 401, 'unauthorized');
      expectProblem(await request('GET', '/api/auth/me', { headers: { cookie: `bookstore_session=${token}` } }), 401, 'unauthorized');
      expectProblem(await request('POST', '/api/auth/logout', { token }), 401, 'unauthorized');
    });

    it('logging out one session leaves the user’s other sessions alone', async () => {
      const { token, email, password } = await signUp(request, 'Two Devices');
      const second = await request('POST', '/api/auth/login', { body: { email, password }, headers: address() });
      await request('POST', '/api/auth/logout', { token });
      expect((await request('GET', '/api/auth/me', { token: second.body.token })).status).toBe(200);
    });

    it('refuses a cookie-authenticated logout from another origin, accepts it from our own', async () => {
      const { token } = await signUp(request, 'Csrf Target');
      const cookie = `bookstore_session=${token}`;
      expectProblem(await request('POST', '/api/auth/logout', { headers: { cookie } }), 403, 'forbidden');
      expectProblem(await request('POST', '/api/auth/logout', { headers: { cookie, origin: 'https://evil.example' } }), 403, 'forbidden');
      expect((await request('GET', '/api/auth/me', { token })).status).toBe(200);
      expect((await request('POST', '/api/auth/logout', { headers: { cookie, origin: store.url } })).status).toBe(204);
    });

    it('an expired session stops working and is deleted', async () => {
      const { token } = await signUp(request, 'Expired');
      const [id] = token.split('.');
      await db.query('update auth_sessions set expires_at = ? where id = ?', [new Date(Date.now() - 1000), id]);
      expectProblem(await request('GET', '/api/auth/me', { token }), 401, 'unauthorized');
      expect(await db.query('select id from auth_sessions where id = ?', [id])).toHaveLength(0);
    });

    it('a session in use in the second half of its life is renewed to 30 days, and its cookie re-issued', async () => {
      const { token } = await signUp(request, 'Renewed');
      const [id] = token.split('.');
      await db.query('update auth_sessions set expires_at = ? where id = ?', [new Date(Date.now() + 24 * 3600 * 1000), id]);
      const response = await request('GET', '/api/auth/me', { headers: { cookie: `bookstore_session=${token}` } });
      expect(response.status).toBe(200);
      expect(response.headers.get('set-cookie')).toContain(`bookstore_session=${token}`);
      const [row] = (await db.query('select expires_at from auth_sessions where id = ?', [id])) as { expires_at: Date }[];
      expect(new Date(row!.expires_at).getTime() - Date.now()).toBeGreaterThan(29 * 24 * 3600 * 1000);
    });
  });

  describe('GET /users', () => {
    it('lists users for the configured admin, with pagination and total', async () => {
      const login = await request('POST', '/api/auth/login', { body: ADMIN, headers: address() });
      expect(login.body.user.role).toBe('admin');
      await signUp(request, 'Listed One');
      const page = await request('GET', '/api/auth/users?page=1&limit=2', { token: login.body.token });
      expect(page.status).toBe(200);
      expect(page.body.items).toHaveLength(2);
      expect(page.body).toMatchObject({ page: 1, limit: 2, total: expect.any(Number) });
      expect(page.body.total).toBeGreaterThan(2);
      expect(page.body.items[0]).toEqual({ id: expect.any(Number), name: expect.any(String), email: expect.any(String), role: expect.any(String), createdAt: expect.any(String) });
      expectProblem(await request('GET', '/api/auth/users?limit=500', { token: login.body.token }), 400, 'validation_failed');
    });

    it('answers 403 to a customer and 401 to nobody', async () => {
      const { token } = await signUp(request, 'Nosy Customer');
      expectProblem(await request('GET', '/api/auth/users', { token }), 403, 'forbidden');
      expectProblem(await request('GET', '/api/auth/users'), 401, 'unauthorized');
    });

    it('keeps the admin an admin and resets the configured password at every start', async () => {
      await db.query("update auth_users set role = 'customer' where email = ?", [ADMIN.email]);
      const restarted = await startTestStore({ DATABASE_URL: db.url, REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix, BOOKSTORE_ADMIN_EMAIL: ADMIN.email, BOOKSTORE_ADMIN_PASSWORD: 'a new admin password' });
      try {
        const login = await apiClient(restarted.url)('POST', '/api/auth/login', { body: { email: ADMIN.email, password: 'a new admin password' }, headers: address() });
        expect(login.status).toBe(200);
        expect(login.body.user.role).toBe('admin');
      } finally {
        await restarted.close();
      }
    });
  });
});
