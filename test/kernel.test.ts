import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, variableNames } from '../kernel/config.js';
import { InternalClient } from '../kernel/internal.js';
import { KERNEL_PROBLEM_CODES } from '../kernel/problem.js';
import { MODULES } from '../kernel/registry.js';
import type { RunningStore } from '../kernel/store.js';
import { configProblems } from './config.testkit.js';
import { apiClient, freePort, servicesAvailable, signUp, startIsolatedStore, startTestStore, type ApiRequest, type IsolatedStore, type TestDatabase } from './harness.js';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({}, MODULES);
    expect(config).toMatchObject({
      modules: ['auth', 'catalog', 'purchase', 'payment-worker', 'delivery-worker', 'storefront'],
      port: 3000,
      database: { kind: 'sqlite', file: './data/bookstore.db' },
      redisUrl: undefined,
      publicUrl: undefined,
      migrate: true,
      shutdownTimeoutMs: 10_000,
      shutdownDrainMs: 0,
      workerConcurrency: 5,
      settings: {
        auth: { admin: undefined },
        catalog: { cacheBytes: 16 * 1024 * 1024, seedDemo: false },
        purchase: { delays: { paymentMs: 2000, shipMs: 5000, transitMs: 5000 } },
      },
    });
    expect(configProblems({ SHUTDOWN_DRAIN_MS: '6s' })[0]).toMatch(/^SHUTDOWN_DRAIN_MS: must be a whole number of milliseconds/);
    expect(configProblems({ SHUTDOWN_DRAIN_MS: '600000' })[0]).toMatch(/^SHUTDOWN_DRAIN_MS: must be at most 120000/);
  });

  it('reports every bad variable at once, one line each, never echoing secrets', () => {
    const problems = configProblems({ PORT: 'eighty', DATABASE_URL: 'postgres://secret@db/x', REDIS_URL: 'http://x', BOOKSTORE_MODULES: 'auth,shop' });
    expect(problems).toHaveLength(4);
    expect(problems.find((p) => p.startsWith('PORT:'))).toContain('"eighty"');
    expect(problems.find((p) => p.startsWith('DATABASE_URL:'))).not.toContain('secret');
    expect(problems.find((p) => p.startsWith('BOOKSTORE_MODULES:'))).toContain('one of');
  });

  it('checks every module’s own variables with the kernel’s, at once, never echoing a module’s secret', () => {
    const problems = configProblems({ PORT: 'eighty', CATALOG_CACHE_MB: 'lots', BOOKSTORE_ADMIN_PASSWORD: 'short' });
    expect(problems).toHaveLength(3);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PORT: /),
        expect.stringMatching(/^CATALOG_CACHE_MB: must be a whole number of megabytes.*\(got "lots"\)$/),
        'BOOKSTORE_ADMIN_PASSWORD: must be 8-128 characters',
      ]),
    );
    expect(configProblems({ BOOKSTORE_ADMIN_EMAIL: 'root@example.test' })).toEqual(['BOOKSTORE_ADMIN_EMAIL and BOOKSTORE_ADMIN_PASSWORD: set both or neither']);
    expect(configProblems({ PAYMENT_DELAY_MS: 'soon' })).toEqual([expect.stringMatching(/^PAYMENT_DELAY_MS: must be a whole number of milliseconds/)]);
  });

  it('is documented: README’s configuration table lists exactly the variables it reads', () => {
    const readme = readFileSync('README.md', 'utf8');
    const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Architecture'));
    const documented = [...table.matchAll(/^\| (.+?) \|/gm)].flatMap(([, cell]) => [...(cell ?? '').matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map(([, name]) => name));
    expect(new Set(documented)).toEqual(new Set(variableNames(MODULES)));
  });

  it('knows every problem code the code answers with: the kernel’s own, or one a module declares', () => {
    const declared = new Set<string>([...KERNEL_PROBLEM_CODES, ...MODULES.flatMap((m) => m.problems)]);
    const sources = ['kernel', 'modules', 'jobs'].flatMap((dir) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((file) => join(dir, file)));
    const thrown = sources
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && !file.endsWith('.testkit.ts'))
      .flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/new Problem\(\s*\d+,\s*'([a-z_]+)'/g)].map(([, code]) => ({ file, code })));
    expect(thrown.length).toBeGreaterThan(10);
    expect(thrown.filter(({ code }) => !declared.has(code ?? ''))).toEqual([]);
  });

  it('requires the URL of a needed module that runs elsewhere, and the service token with it', () => {
    expect(configProblems({ BOOKSTORE_MODULES: 'catalog' })).toEqual([expect.stringMatching(/^AUTH_URL: required/)]);
    expect(configProblems({ BOOKSTORE_MODULES: 'catalog', AUTH_URL: 'http://auth:3000' })).toEqual([expect.stringMatching(/^INTERNAL_TOKEN: required/)]);
    expect(configProblems({ BOOKSTORE_MODULES: 'catalog', AUTH_URL: 'http://auth:3000', INTERNAL_TOKEN: 'x'.repeat(32) })).toEqual([]);
    expect(configProblems({ BOOKSTORE_MODULES: 'purchase', AUTH_URL: 'http://auth:3000', INTERNAL_TOKEN: 'x'.repeat(32) })).toEqual([
      expect.stringMatching(/^CATALOG_URL: required, because module purchase calls module catalog/),
    ]);
    expect(configProblems({ BOOKSTORE_MODULES: 'delivery-worker' })).toEqual([]);
    expect(configProblems({ WORKER_CONCURRENCY: '0' })[0]).toMatch(/^WORKER_CONCURRENCY: /);
  });

  it('reads *_FILE variables (Docker secrets) and refuses both forms at once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bookstore-config-'));
    try {
      writeFileSync(join(dir, 'token'), `${'s'.repeat(40)}\n`);
      const config = loadConfig({ BOOKSTORE_MODULES: 'catalog', AUTH_URL: 'http://auth:3000', INTERNAL_TOKEN_FILE: join(dir, 'token') }, MODULES);
      expect(config.internalToken).toBe('s'.repeat(40));
      expect(configProblems({ INTERNAL_TOKEN: 'x'.repeat(20), INTERNAL_TOKEN_FILE: join(dir, 'token') })[0]).toMatch(/^INTERNAL_TOKEN: set both/);
      expect(configProblems({ DATABASE_URL_FILE: join(dir, 'missing') })[0]).toMatch(/^DATABASE_URL_FILE: cannot read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops the process with exit code 1 and one line per problem', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'kernel/main.ts'], {
      env: { PATH: process.env.PATH ?? '', PORT: '99999', REDIS_URL: 'nope' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^bookstore: configuration: PORT: /);
    expect(lines[1]).toMatch(/^bookstore: configuration: REDIS_URL: /);
  });
});

const ready = await servicesAvailable('test/kernel.test.ts', ['mysql', 'redis']);

describe.runIf(ready)('the HTTP kernel on MariaDB and Redis', () => {
  let db: TestDatabase;
  let store: RunningStore;
  let request: ApiRequest;
  let stack: IsolatedStore;

  beforeAll(async () => {
    stack = await startIsolatedStore();
    ({ db, store, request } = stack);
  });

  afterAll(() => stack?.close());

  it('answers malformed JSON with 400 malformed_json', async () => {
    const { token } = await signUp(request, 'Json Sender');
    const response = await request('POST', '/api/catalog/books', { token, rawBody: '{"title": ', headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ status: 400, code: 'malformed_json', title: 'Bad Request', type: expect.any(String), detail: expect.any(String) });
  });

  it('refuses a body that is not declared as JSON', async () => {
    const response = await request('POST', '/api/auth/login', { rawBody: 'email=a&password=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('malformed_json');
  });

  it('answers a JSON array where an object belongs with 400 validation_failed', async () => {
    const response = await request('POST', '/api/auth/login', { rawBody: '[1,2]', headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('validation_failed');
  });

  it('answers bodies over 64 KiB with 413 payload_too_large', async () => {
    const response = await request('POST', '/api/auth/register', { body: { name: 'x'.repeat(70 * 1024), email: 'big@example.test', password: 'long enough' } });
    expect(response.status).toBe(413);
    expect(response.body.code).toBe('payload_too_large');
  });

  it('answers unknown routes with a 404 problem and wrong methods with 405 and Allow', async () => {
    const missing = await request('GET', '/api/catalog/nothing-here');
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('not_found');
    const wrongMethod = await request('PUT', '/api/catalog/books/1', { body: {} });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET, HEAD, PATCH, DELETE');
    expect(wrongMethod.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('echoes a valid X-Request-Id, makes one otherwise, and sends secure headers', async () => {
    const echoed = await request('GET', '/healthz', { headers: { 'x-request-id': 'trace-abc-123' } });
    expect(echoed.headers.get('x-request-id')).toBe('trace-abc-123');
    const made = await request('GET', '/api/catalog/books', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(made.headers.get('x-content-type-options')).toBe('nosniff');
    expect(made.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(made.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(made.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('serves /healthz, /readyz with its checks, and Prometheus /metrics by route pattern', async () => {
    expect((await request('GET', '/healthz')).status).toBe(200);
    const readiness = await request('GET', '/readyz');
    expect(readiness.status).toBe(200);
    expect(readiness.body.checks).toEqual({ database: 'ok', redis: 'ok' });
    await request('GET', '/api/catalog/books/424242');
    const metrics = await fetch(`${store.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/http_requests_total\{method="GET",route="\/api\/catalog\/books\/:id",status="404"/);
    expect(metrics).toMatch(/http_request_duration_seconds_bucket\{.*route="\/api\/catalog\/books\/:id"/);
    expect(metrics).toContain('process_resident_memory_bytes');
  });

  it('never leaks internals in a 500', async () => {
    const { token } = await signUp(request, 'Breaker');
    await db.query('drop table catalog_book_words');
    try {
      const response = await request('POST', '/api/catalog/books', { token, body: { title: 'Boom', author: 'Nobody', priceCents: 100, stock: 1 } });
      expect(response.status).toBe(500);
      expect(response.body.code).toBe('internal');
      expect(JSON.stringify(response.body)).not.toMatch(/catalog_book_words|insert|at .*\.ts/i);
      expect(response.body.detail).toContain(response.headers.get('x-request-id'));
    } finally {
      await db.query('create table catalog_book_words (word varchar(64) character set utf8mb4 collate utf8mb4_bin not null, book_id int unsigned not null, primary key (word, book_id), index catalog_book_words_book_id_index (book_id))');
    }
  });

  it('serves an OpenAPI document that covers every public route of docs/api.md, and the reference page', async () => {
    const spec = await request('GET', '/api/docs/openapi.json');
    expect(spec.status).toBe(200);
    const paths = spec.body.paths as Record<string, Record<string, unknown>>;
    const operations = Object.entries(paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
    expect(operations.sort()).toEqual(
      [
        'POST /api/auth/register',
        'POST /api/auth/login',
        'POST /api/auth/logout',
        'GET /api/auth/me',
        'GET /api/auth/users',
        'GET /api/catalog/books',
        'GET /api/catalog/books/{id}',
        'POST /api/catalog/books',
        'PATCH /api/catalog/books/{id}',
        'DELETE /api/catalog/books/{id}',
        'GET /api/catalog/my-books',
        'GET /api/purchase/delivery-providers',
        'POST /api/purchase/orders',
        'GET /api/purchase/orders',
        'GET /api/purchase/orders/{id}/events',
        'GET /api/purchase/orders/{id}',
        'POST /api/purchase/orders/{id}/cancel',
        'GET /api/purchase/sales',
      ].sort(),
    );
    const register = (paths['/api/auth/register'] as { post: { requestBody: { content: Record<string, { schema: { required: string[]; additionalProperties: boolean } }> } } }).post;
    expect(register.requestBody.content['application/json']!.schema.required.sort()).toEqual(['email', 'name', 'password']);
    const page = await fetch(`${store.url}/api/docs`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/api/docs/openapi.json');
  });

  it('serves only the routes of the modules it runs', async () => {
    const catalogOnly = await startTestStore({
      BOOKSTORE_MODULES: 'catalog',
      AUTH_URL: store.url,
      INTERNAL_TOKEN: 'not-the-token-of-the-auth-service',
      DATABASE_URL: db.url,
    });
    try {
      const only = apiClient(catalogOnly.url);
      expect((await only('POST', '/api/auth/login', { body: { email: 'a@example.test', password: 'x' } })).status).toBe(404);
      expect((await only('GET', '/api/catalog/books')).status).toBe(200);
      const spec = await only('GET', '/api/docs/openapi.json');
      expect(Object.keys(spec.body.paths).every((path) => path.startsWith('/api/catalog/'))).toBe(true);
    } finally {
      await catalogOnly.close();
    }
  });

  it('asks for TLS to the database when DATABASE_URL says ?ssl=, and refuses a server without it', async () => {
    const tls = `${db.url}?ssl=${encodeURIComponent(JSON.stringify({ rejectUnauthorized: true }))}`;
    // The test server speaks no TLS: a store that honours the parameter cannot connect to it.
    await expect(startTestStore({ DATABASE_URL: tls, BOOKSTORE_MODULES: 'auth' })).rejects.toThrow(/secure connection|SSL|TLS/i);
    expect(configProblems({ DATABASE_URL: `${db.url}?ssl=maybe` })[0]).toMatch(/^DATABASE_URL: ssl must be true or a JSON object/);
  });

  it('drains on close: answers as usual for SHUTDOWN_DRAIN_MS with /readyz 503 and Connection: close, then stops accepting', async () => {
    const draining = await startTestStore({ DATABASE_URL: db.url, BOOKSTORE_MODULES: 'catalog,auth', BOOKSTORE_MIGRATE: 'false', SHUTDOWN_DRAIN_MS: '800' });
    const started = Date.now();
    const closed = draining.close().then(() => Date.now() - started);
    const readiness = await fetch(`${draining.url}/readyz`);
    expect(readiness.status).toBe(503);
    expect(await readiness.json()).toEqual({ status: 'draining' });
    const books = await fetch(`${draining.url}/api/catalog/books?limit=1`);
    expect(books.status).toBe(200);
    expect(books.headers.get('connection')).toBe('close');
    expect((await fetch(`${draining.url}/healthz`)).status).toBe(200);
    expect(await closed).toBeGreaterThanOrEqual(800);
    await expect(fetch(`${draining.url}/healthz`)).rejects.toThrow();
  });

  it('reports not ready while Redis is unreachable', async () => {
    const noRedis = await startTestStore({ DATABASE_URL: db.url, REDIS_URL: 'redis://127.0.0.1:1', BOOKSTORE_MIGRATE: 'false' });
    try {
      const readiness = await apiClient(noRedis.url)('GET', '/readyz');
      expect(readiness.status).toBe(503);
      expect(readiness.body.checks).toEqual({ database: 'ok', redis: 'down' });
      const login = await apiClient(noRedis.url)('POST', '/api/auth/login', { body: { email: 'a@example.test', password: 'whatever1' } });
      expect(login.status).toBe(503);
      expect(login.body.code).toBe('service_unavailable');
    } finally {
      await noRedis.close();
    }
  });
});

describe('internal calls over HTTP', () => {
  /** A server that cuts the connection of the first `cut` requests without answering, then answers `status`. */
  async function flakyServer(cut: number, status = 200) {
    const seen: string[] = [];
    const server = createServer((request, response) => {
      seen.push(request.url ?? '');
      if (seen.length <= cut) return void request.socket.destroy();
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(status === 200 ? { result: 42 } : { status, code: 'internal' }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise((done) => server.close(done)) };
  }

  it('sends a call once more when its connection broke before an answer, and answers 503 when it breaks again', async () => {
    const once1 = await flakyServer(1);
    const twice = await flakyServer(2);
    try {
      expect(await new InternalClient('catalog', once1.url, 'x'.repeat(32)).call('op', {})).toBe(42);
      expect(once1.seen).toEqual(['/internal/catalog/op', '/internal/catalog/op']);
      await expect(new InternalClient('catalog', twice.url, 'x'.repeat(32)).call('op', {})).rejects.toMatchObject({ status: 503, code: 'service_unavailable' });
      expect(twice.seen).toHaveLength(2);
    } finally {
      await Promise.all([once1.close(), twice.close()]);
    }
  });

  it('never sends a call again once an answer came, even a 500', async () => {
    const failing = await flakyServer(0, 500);
    try {
      await expect(new InternalClient('catalog', failing.url, 'x'.repeat(32)).call('op', {})).rejects.toMatchObject({ status: 503 });
      expect(failing.seen).toHaveLength(1);
    } finally {
      await failing.close();
    }
  });

  it('tries a refused connection once more, then answers 503', async () => {
    const port = await freePort();
    const started = Date.now();
    await expect(new InternalClient('catalog', `http://127.0.0.1:${port}`, 'x'.repeat(32)).call('op', {})).rejects.toMatchObject({ status: 503 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(50);
  });
});
