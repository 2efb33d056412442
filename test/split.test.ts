import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiClient,
  createTestDatabase,
  freePort,
  servicesAvailable,
  signUp,
  startStoreProcess,
  testRedis,
  type ApiRequest,
  type StoreProcess,
  type TestDatabase,
  type TestRedis,
} from './harness.js';

const ready = await servicesAvailable('test/split.test.ts', ['mysql', 'redis']);

const INTERNAL_TOKEN = 'split-test-service-token-0123456789';

/** auth and catalog as two processes on two ports, as two containers would run them. */
describe.runIf(ready)('split run: auth and catalog in separate processes', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let auth: StoreProcess;
  let catalog: StoreProcess;
  let authApi: ApiRequest;
  let catalogApi: ApiRequest;

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = testRedis();
    const shared = { DATABASE_URL: db.url, REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix, INTERNAL_TOKEN };
    auth = await startStoreProcess({ ...shared, BOOKSTORE_MODULES: 'auth' }, await freePort());
    catalog = await startStoreProcess({ ...shared, BOOKSTORE_MODULES: 'catalog', AUTH_URL: auth.url, BOOKSTORE_SEED: 'demo' }, await freePort());
    authApi = apiClient(auth.url);
    catalogApi = apiClient(catalog.url);
  });

  afterAll(async () => {
    await auth?.stop();
    await catalog?.stop();
    await db?.drop();
    await redis?.drop();
  });

  it('each process serves only its own module', async () => {
    expect((await catalogApi('POST', '/api/auth/login', { body: { email: 'a@example.test', password: 'x' } })).status).toBe(404);
    expect((await authApi('GET', '/api/catalog/books')).status).toBe(404);
  });

  it('seeded the demo catalog through the auth service’s internal API', async () => {
    const books = await catalogApi('GET', '/api/catalog/books?limit=100');
    expect(books.body.total).toBeGreaterThanOrEqual(200);
    expect(new Set(books.body.items.map((b: { sellerId: number }) => b.sellerId)).size).toBeGreaterThanOrEqual(5);
  });

  it('a token from the auth process works on the catalog process, and logout revokes it there at once', async () => {
    const { token, user } = await signUp(authApi, 'Split Seller');
    const created = await catalogApi('POST', '/api/catalog/books', { token, body: { title: 'Split Brain', author: 'Two Processes', priceCents: 500, stock: 1 } });
    expect(created.status).toBe(201);
    expect(created.body.book.sellerId).toBe(user.id);

    expect((await authApi('POST', '/api/auth/logout', { token })).status).toBe(204);
    const after = await catalogApi('POST', '/api/catalog/books', { token, body: { title: 'Too Late', author: 'Nobody', priceCents: 500, stock: 1 } });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('unauthorized');
    expect((await catalogApi('GET', '/api/catalog/my-books', { token })).status).toBe(401);
  });

  it('internal routes refuse a missing or wrong service token', async () => {
    const call = (token?: string) =>
      fetch(`${auth.url}/internal/auth/resolveSession`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { 'x-internal-token': token } : {}) },
        body: JSON.stringify({ token: 'whatever' }),
      });
    expect((await call()).status).toBe(401);
    expect((await call('wrong-token-wrong-token-wrong')).status).toBe(401);
    const right = await call(INTERNAL_TOKEN);
    expect(right.status).toBe(200);
    expect(await right.json()).toEqual({ result: null });
    expect((await catalogApi('POST', '/api/internal/auth/resolveSession', { body: { token: 'x' } })).status).toBe(404);
  });

  it('a catalog process holding the wrong service token answers 503, never trusting the caller', async () => {
    const { token } = await signUp(authApi, 'Stranded User');
    const misconfigured = await startStoreProcess(
      { DATABASE_URL: db.url, BOOKSTORE_MODULES: 'catalog', AUTH_URL: auth.url, INTERNAL_TOKEN: 'a-different-token-0123456789' },
      await freePort(),
    );
    try {
      const response = await apiClient(misconfigured.url)('GET', '/api/catalog/my-books', { token });
      expect(response.status).toBe(503);
      expect(response.body.code).toBe('service_unavailable');
      expect((await apiClient(misconfigured.url)('GET', '/api/catalog/books?limit=1')).status).toBe(200);
    } finally {
      await misconfigured.stop();
    }
  });

  it('SIGTERM lets an in-flight request finish, then exits 0', async () => {
    const extra = await startStoreProcess({ DATABASE_URL: db.url, REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix, BOOKSTORE_MODULES: 'auth', INTERNAL_TOKEN }, await freePort());
    const { email, password } = await signUp(apiClient(extra.url), 'Graceful');
    const inFlight = apiClient(extra.url)('POST', '/api/auth/login', { body: { email, password } });
    await new Promise((resolve) => setTimeout(resolve, 15));
    const exitCode = extra.stop('SIGTERM');
    expect((await inFlight).status).toBe(200);
    expect(await exitCode).toBe(0);
    expect(extra.output()).toContain('stopped cleanly');
  });
});
