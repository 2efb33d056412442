/**
 * The checks every signed-in route must pass, written once (docs/api.md, Conventions):
 *
 * - without a session, or with a token nobody issued: `401 unauthorized`;
 * - an unsafe method (POST/PATCH/DELETE) with a cookie session and no `Origin`, or a foreign one
 *   (another site, `null`, the same host over another scheme): `403 forbidden`; a read with a
 *   cookie session needs no `Origin` and is answered as the same read with a Bearer token;
 * - a route that reads a JSON body: malformed JSON is `400 malformed_json`, and an otherwise valid
 *   body with a field the route does not know is `400 validation_failed` naming that field;
 * - another method on the same path: `405 method_not_allowed` with `Allow` naming exactly the
 *   methods the path takes;
 * - an administrators-only route: `403 forbidden` to a signed-in customer.
 *
 * Usage, in a resource's `*.security.test.ts` (any describe whose store() answers a running store,
 * describeOnEachBackend's or one from startIsolatedStore):
 *
 *     itIsAProtectedRoute(store, { method: 'POST', path: '/api/purchase/orders', allow: 'GET, HEAD, POST', body: () => validOrder, session: () => buyer.token });
 *
 * The checks that need a session use `session` (a token; a new customer by default), so that where
 * the route would otherwise succeed, only what is under test is wrong.
 */
import { describe, expect, it } from 'vitest';
import { expectProblem, signUp, type ApiRequest, type ApiResponse, type RequestOptions } from './harness.js';

/** What the checks need of a running store: BackendStore and IsolatedStore both are one. */
export interface StoreUnderTest {
  request: ApiRequest;
  store: { url: string };
}

export interface ProtectedRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** The documented path; `{name}` placeholders are filled from `params` once the store runs. */
  path: string;
  params?: () => Record<string, string | number>;
  /** Exactly the methods the path takes, as its 405 names them in `Allow` ('GET, HEAD, POST'). */
  allow: string;
  /** A valid body, for routes that read one: adds the malformed-JSON and unknown-field checks. */
  body?: () => Record<string, unknown>;
  /** Only administrators may call it: adds the 403 for a signed-in customer. */
  adminOnly?: boolean;
  /** The token of a caller the route would serve (an administrator's for `adminOnly`); a new customer by default. */
  session?: () => string | Promise<string>;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const FOREIGN_ORIGINS = (storeUrl: string) => [undefined, 'https://evil.example', 'null', storeUrl.replace(/^http:/, 'https:'), `${storeUrl}.evil.example`];

/** One new customer per store, for the checks of routes that name no session of their own. */
const customers = new WeakMap<StoreUnderTest, Promise<string>>();
function customerOf(store: StoreUnderTest): Promise<string> {
  let token = customers.get(store);
  if (!token) {
    token = signUp(store.request, 'Route Checker').then((user) => user.token);
    customers.set(store, token);
  }
  return token;
}

/** Signs in with an account's email and password (the configured administrator's, say); answers its token. */
export async function signInAs(store: StoreUnderTest, account: { email: string; password: string }): Promise<string> {
  const address = `10.250.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
  const login = await store.request('POST', '/api/auth/login', { body: account, headers: { 'x-forwarded-for': address } });
  expect(login.status, JSON.stringify(login.body)).toBe(200);
  return login.body.token as string;
}

function pathOf(route: ProtectedRoute): string {
  const params = route.params?.() ?? {};
  return route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    if (!(name in params)) throw new Error(`${route.path}: no value for {${name}}`);
    return encodeURIComponent(String(params[name]));
  });
}

/** Generates the checks above as tests, in a describe of their own named after the route. */
export function itIsAProtectedRoute(store: () => StoreUnderTest, route: ProtectedRoute): void {
  const { method } = route;
  const session = () => (route.session ? route.session() : customerOf(store()));
  const call = (options: RequestOptions = {}, as: string = method): Promise<ApiResponse> => store().request(as, pathOf(route), options);
  const withBody = (): RequestOptions => (route.body ? { body: route.body() } : {});

  describe(`${method} ${route.path} is a protected route`, () => {
    it('answers 401 unauthorized without a session and to a token nobody issued', async () => {
      expectProblem(await call(withBody()), 401, 'unauthorized');
      expectProblem(await call({ ...withBody(), token: 'not-a-real-token' }), 401, 'unauthorized');
      expectProblem(await call({ ...withBody(), token: `${'a'.repeat(24)}.${'b'.repeat(24)}` }), 401, 'unauthorized');
    });

    if (UNSAFE.has(method)) {
      it('refuses a cookie session without Origin or from a foreign one with 403 forbidden', async () => {
        const cookie = `bookstore_session=${await session()}`;
        for (const origin of FOREIGN_ORIGINS(store().store.url)) {
          const response = await call({ ...withBody(), headers: { cookie, ...(origin === undefined ? {} : { origin }) } });
          expect(response.status, `Origin ${origin ?? '(none)'}: ${JSON.stringify(response.body)}`).toBe(403);
          expectProblem(response, 403, 'forbidden');
        }
      });
    } else {
      it('answers a cookie session without Origin as it answers the same Bearer token', async () => {
        const token = await session();
        const byBearer = await call({ token });
        const byCookie = await call({ headers: { cookie: `bookstore_session=${token}` } });
        expect([401, 403], JSON.stringify(byBearer.body)).not.toContain(byBearer.status);
        expect(byCookie.status, JSON.stringify(byCookie.body)).toBe(byBearer.status);
      });
    }

    if (route.body) {
      const body = route.body;
      it('answers malformed JSON with 400 malformed_json', async () => {
        const token = await session();
        const response = await call({ token, rawBody: '{"broken": ', headers: { 'content-type': 'application/json' } });
        expectProblem(response, 400, 'malformed_json');
      });

      it('refuses an otherwise valid body with an unknown field with 400 validation_failed naming it', async () => {
        const token = await session();
        const response = await call({ token, body: { ...body(), smuggled: true } });
        expectProblem(response, 400, 'validation_failed');
        expect((response.body.errors as { path: string }[]).map((error) => error.path)).toEqual(['smuggled']);
      });
    }

    it(`answers another method with 405 method_not_allowed and Allow: ${route.allow}`, async () => {
      const allowed = route.allow.split(', ');
      const wrong = ['PUT', 'PATCH', 'DELETE', 'POST'].find((candidate) => !allowed.includes(candidate))!;
      const response = await call({ token: await session() }, wrong);
      expectProblem(response, 405, 'method_not_allowed');
      expect(response.headers.get('allow')).toBe(route.allow);
    });

    if (route.adminOnly) {
      it('answers 403 forbidden to a signed-in customer', async () => {
        const customer = await customerOf(store());
        expectProblem(await call({ ...withBody(), token: customer }), 403, 'forbidden');
      });
    }
  });
}
