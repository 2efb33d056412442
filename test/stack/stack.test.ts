/**
 * Issue 4: the stack on loopback. stack.yml's app services run as local processes (auth, catalog,
 * purchase and payment-worker with two replicas each), the migrate one-shot first, behind Debian's NGINX running the project's template
 * with a certificate from docker/certs/make-local-ca.sh, and every check goes over https:// with
 * the test CA (see loopback.ts for what differs from Swarm).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, servicesAvailable, testRedis, uniqueEmail, type TestDatabase, type TestRedis } from '../harness.js';
import { handshake, http2Request, httpsClient, plainHttp, type HttpsClient } from './https.js';
import { LoopbackStack, nginxAvailable, ROOT } from './loopback.js';
import { replicasOf } from './stack-file.js';

const FILE = 'test/stack/stack.test.ts';
const ready = nginxAvailable(FILE) && (await servicesAvailable(FILE, ['mysql', 'redis']));

const PASSWORD = 'correct horse battery';
const CARD = { method: 'card', cardNumber: '4242424242424242', expMonth: 12, expYear: 2040, cvc: '123' };
const FLAKY_CARD = { ...CARD, cardNumber: '4000000000000119' };
const DECLINED_CARD = { ...CARD, cardNumber: '4000000000000002' };
const ADDRESS = { name: 'Ada Buyer', line1: '1 Loopback Lane', city: 'Localhost', country: 'CO' };
/** stack.yml leaves the simulated latencies at their defaults (seconds); shorter here to stay fast. */
const DELAYS = { PAYMENT_DELAY_MS: '300', DELIVERY_SHIP_DELAY_MS: '1500', DELIVERY_TRANSIT_DELAY_MS: '300' };
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const cookieOf = (setCookie: string[] | undefined) => setCookie?.find((c) => c.startsWith('bookstore_session='))?.split(';')[0] ?? '';

describe.runIf(ready)('the stack on loopback: stack.yml as processes behind NGINX, over HTTPS', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let certs: string;
  let ca: string;
  let stack: LoopbackStack;
  let api: HttpsClient;
  let origin: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = testRedis();
    certs = mkdtempSync(join(tmpdir(), 'bookstore-certs-'));
    execFileSync('sh', [join(ROOT, 'docker/certs/make-local-ca.sh'), certs], { stdio: 'pipe' });
    ca = readFileSync(join(certs, 'ca.crt'), 'utf8');
    stack = new LoopbackStack({
      databaseUrl: db.url,
      redis: { url: redis.url, prefix: redis.prefix },
      tls: { cert: join(certs, 'server.crt'), key: join(certs, 'server.key') },
      extraEnv: DELAYS,
    });
    await stack.start();
    api = httpsClient(stack.httpsPort, ca);
    origin = stack.httpsUrl;
  }, 120_000);

  afterAll(async () => {
    api?.close();
    await stack?.stop();
    await db?.drop();
    await redis?.drop();
    if (certs) rmSync(certs, { recursive: true, force: true });
  }, 60_000);

  async function signUp(name: string) {
    const email = uniqueEmail(name.toLowerCase());
    const registered = await api('POST', '/api/auth/register', { body: { name, email, password: PASSWORD } });
    expect(registered.status, registered.text).toBe(201);
    const login = await api('POST', '/api/auth/login', { body: { email, password: PASSWORD } });
    expect(login.status, login.text).toBe(200);
    return { email, user: registered.body.user, token: login.body.token as string, setCookie: login.headers['set-cookie'] };
  }

  function placeOrder(token: string, bookId: unknown, quantity: number, payment: object = CARD, key?: string) {
    return api('POST', '/api/purchase/orders', {
      token,
      headers: key ? { 'idempotency-key': key } : {},
      body: { items: [{ bookId, quantity }], deliveryProviderId: 'dhl', shippingAddress: ADDRESS, payment },
    });
  }

  async function waitForOrder(token: string, id: string, statuses: string[], timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    let last: { status?: string } | undefined;
    while (Date.now() < deadline) {
      const reply = await api('GET', `/api/purchase/orders/${id}`, { token });
      last = reply.body?.order;
      if (last?.status && statuses.includes(last.status)) return reply.body.order;
      await sleep(100);
    }
    throw new Error(`order ${id} did not reach ${statuses.join(' or ')} (last: ${JSON.stringify(last)})`);
  }

  it('runs every app service of stack.yml: the migrate one-shot first, then each service with its replicas', () => {
    const migrate = stack.oneShots.get('migrate');
    expect(migrate?.code).toBe(0);
    expect(migrate?.output).toContain('schema is up to date');
    for (const name of stack.appServices.filter((service) => service !== 'migrate')) {
      expect(stack.running(name).length, name).toBe(replicasOf(stack.service(name)));
    }
    expect(stack.running('catalog')).toHaveLength(2);
    expect(stack.running('payment-worker')).toHaveLength(2);
    console.log(
      `stack on loopback: ${[...stack.replicas].map(([name, list]) => `${name}×${list.length}`).join(', ')}; ` +
        `nginx https://localhost:${stack.httpsPort} http://localhost:${stack.httpPort}`,
    );
  });

  it('nginx -t passes on the rendered configuration', () => {
    const result = stack.nginxTest();
    console.log(`nginx -t:\n${result.output.trim()}`);
    expect(result.status, result.output).toBe(0);
    expect(result.output).toContain('syntax is ok');
    expect(result.output).toContain('test is successful');
    expect(result.output).not.toContain('[emerg]');
    const directives = stack.renderedConfig().split('\n').filter((line) => !line.trim().startsWith('#'));
    expect(directives.filter((line) => line.includes('${'))).toEqual([]);
  });

  it('the API flow passes through NGINX: register, login (Secure cookie), browse, search, sell, edit, buy, pay, ship, deliver, cancel, logout', async () => {
    const seller = await signUp('Seller');
    expect(seller.user.email).toBe(seller.email);
    const cookie = seller.setCookie?.find((c) => c.startsWith('bookstore_session=')) ?? '';
    expect(cookie).toMatch(/;\s*Secure/i);
    expect(cookie).toMatch(/;\s*HttpOnly/i);

    const me = await api('GET', '/api/auth/me', { token: seller.token });
    expect(me.status).toBe(200);
    expect(me.body.user.id).toBe(seller.user.id);

    const word = `Zanzibarian${Date.now().toString(36)}`;
    const sold = await api('POST', '/api/catalog/books', {
      token: seller.token,
      body: { title: `${word} Nights`, author: 'Loopback Author', priceCents: 1250, stock: 3 },
    });
    expect(sold.status, sold.text).toBe(201);
    expect(sold.body.book.sellerId).toBe(seller.user.id);
    const id = sold.body.book.id;

    const browse = await api('GET', '/api/catalog/books?limit=100&sort=newest');
    expect(browse.status).toBe(200);
    expect(browse.body.items.map((b: { id: unknown }) => b.id)).toContain(id);
    const one = await api('GET', `/api/catalog/books/${id}`);
    expect(one.status).toBe(200);
    expect(one.headers.etag).toBeTruthy();
    expect((await api('GET', `/api/catalog/books/${id}`, { headers: { 'if-none-match': one.headers.etag! } })).status).toBe(304);

    const search = await api('GET', `/api/catalog/books?q=${word.toLowerCase()}`);
    expect(search.status).toBe(200);
    expect(search.body.total).toBe(1);
    expect(search.body.items[0].id).toBe(id);

    const edited = await api('PATCH', `/api/catalog/books/${id}`, { token: seller.token, body: { priceCents: 1500 } });
    expect(edited.status, edited.text).toBe(200);
    expect(edited.body.book.priceCents).toBe(1500);

    // Cookie-authenticated writes need Origin = the store's origin, which the app derives from the
    // Host and X-Forwarded-Proto that NGINX forwards: https://localhost:<port>.
    const session = cookieOf(seller.setCookie);
    const sameOrigin = await api('PATCH', `/api/catalog/books/${id}`, { cookie: session, headers: { origin }, body: { stock: 4 } });
    expect(sameOrigin.status, sameOrigin.text).toBe(200);
    const crossOrigin = await api('PATCH', `/api/catalog/books/${id}`, { cookie: session, headers: { origin: 'https://evil.example' }, body: { stock: 5 } });
    expect(crossOrigin.status).toBe(403);
    const plainOrigin = await api('PATCH', `/api/catalog/books/${id}`, { cookie: session, headers: { origin: origin.replace('https:', 'http:') }, body: { stock: 5 } });
    expect(plainOrigin.status).toBe(403);

    const mine = await api('GET', '/api/catalog/my-books', { token: seller.token });
    expect(mine.body.items.map((b: { id: unknown }) => b.id)).toEqual([id]);

    // Request ids: a valid incoming one is kept end to end, otherwise NGINX makes one.
    const traced = await api('GET', '/api/catalog/books?limit=1', { headers: { 'x-request-id': 'stack-test-trace-1' } });
    expect(traced.headers['x-request-id']).toBe('stack-test-trace-1');
    const fresh = await api('GET', '/api/catalog/books?limit=1', { headers: { 'x-request-id': 'not valid!' } });
    expect(fresh.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    // A replica logs a request just after answering it: give the last log lines a moment to arrive.
    const logged = (requestId: unknown) => stack.replicas.get('catalog')!.some((replica) => replica.logLines().some((line) => line.requestId === requestId));
    for (let waited = 0; waited < 3000 && !(logged('stack-test-trace-1') && logged(fresh.headers['x-request-id'])); waited += 50) await sleep(50);
    expect(logged('stack-test-trace-1')).toBe(true);
    expect(logged(fresh.headers['x-request-id'])).toBe(true);
    const edgeLog = stack.accessLog().find((line) => line.requestId === 'stack-test-trace-1');
    expect(edgeLog).toMatchObject({ method: 'GET', uri: '/api/catalog/books?limit=1', status: 200, tls: 'TLSv1.3' });
    expect(String(edgeLog?.upstream)).toMatch(/^127\.0\.0\.1:\d+$/);

    // Buy, pay, ship, deliver: purchase behind NGINX, the payment and delivery workers behind Redis.
    const buyer = await signUp('Buyer');
    const providers = await api('GET', '/api/purchase/delivery-providers');
    expect(providers.status).toBe(200);
    expect(providers.body.items.map((p: { id: string }) => p.id)).toContain('dhl');
    const key = `stack-order-${Date.now()}`;
    const placed = await placeOrder(buyer.token, id, 2, CARD, key);
    expect(placed.status, placed.text).toBe(201);
    expect(placed.body.order).toMatchObject({ status: 'pending_payment', subtotalCents: 3000 });
    const replayed = await placeOrder(buyer.token, id, 2, CARD, key);
    expect(replayed.body.order.id).toBe(placed.body.order.id);
    const delivered = await waitForOrder(buyer.token, placed.body.order.id, ['delivered']);
    expect(delivered.events.map((e: { status: string }) => e.status)).toEqual(['pending_payment', 'paid', 'shipped', 'delivered']);
    expect(delivered.payment).toMatchObject({ method: 'card', status: 'captured', last4: '4242' });
    expect(delivered.trackingNumber).toBeTruthy();
    expect((await api('GET', `/api/catalog/books/${id}`)).body.book.stock).toBe(2);
    const mineOrders = await api('GET', '/api/purchase/orders', { token: buyer.token });
    expect(mineOrders.body.items.map((o: { id: string }) => o.id)).toEqual([placed.body.order.id]);
    const sales = await api('GET', '/api/purchase/sales', { token: seller.token });
    expect(sales.body.items).toEqual([expect.objectContaining({ orderId: placed.body.order.id, quantity: 2, orderStatus: 'delivered' })]);
    expect((await api('GET', `/api/purchase/orders/${placed.body.order.id}`, { token: seller.token })).status).toBe(404);

    // Cancel once paid: stock back, money back.
    const second = await placeOrder(buyer.token, id, 1);
    expect(second.status, second.text).toBe(201);
    await waitForOrder(buyer.token, second.body.order.id, ['paid']);
    const cancelled = await api('POST', `/api/purchase/orders/${second.body.order.id}/cancel`, { token: buyer.token });
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(cancelled.body.order.status).toBe('cancelled');
    const refunded = await waitForOrder(buyer.token, second.body.order.id, ['cancelled']);
    expect(['refunded', 'captured']).toContain(refunded.payment.status);
    await expect.poll(async () => (await api('GET', `/api/purchase/orders/${second.body.order.id}`, { token: buyer.token })).body.order.payment.status, { timeout: 10_000 }).toBe('refunded');
    expect((await api('GET', `/api/catalog/books/${id}`)).body.book.stock).toBe(2);
    expect((await api('POST', `/api/purchase/orders/${placed.body.order.id}/cancel`, { token: buyer.token })).status).toBe(409);

    // A declined card: payment_failed, stock back.
    const declined = await placeOrder(buyer.token, id, 1, DECLINED_CARD);
    expect(declined.status, declined.text).toBe(201);
    const failed = await waitForOrder(buyer.token, declined.body.order.id, ['payment_failed']);
    expect(failed.payment.status).toBe('declined');
    await expect.poll(async () => (await api('GET', `/api/catalog/books/${id}`)).body.book.stock, { timeout: 10_000 }).toBe(2);

    expect((await api('POST', '/api/auth/logout', { token: buyer.token })).status).toBe(204);
    expect((await api('GET', '/api/purchase/orders', { token: buyer.token })).status).toBe(401);
    expect((await api('POST', '/api/auth/logout', { token: seller.token })).status).toBe(204);
    expect((await api('GET', '/api/auth/me', { token: seller.token })).status).toBe(401);
    const afterLogout = await api('POST', '/api/catalog/books', { token: seller.token, body: { title: 'Too Late', author: 'Nobody', priceCents: 100, stock: 1 } });
    expect(afterLogout.status).toBe(401);
    expect(afterLogout.body.code).toBe('unauthorized');
  });

  it('the administrator comes from stack.yml: BOOKSTORE_ADMIN_EMAIL and the admin_password secret file', async () => {
    const email = stack.environments.get('auth')!.BOOKSTORE_ADMIN_EMAIL!;
    const login = await api('POST', '/api/auth/login', { body: { email, password: stack.secrets.get('admin_password')! } });
    expect(login.status, login.text).toBe(200);
    expect(login.body.user.role).toBe('admin');
    const users = await api('GET', '/api/auth/users?limit=5', { token: login.body.token });
    expect(users.status).toBe(200);
  });

  it('http:// answers 301 to the same URL on https://', async () => {
    const reply = await plainHttp(stack.httpPort, '/api/catalog/books?q=dune&limit=2');
    expect(reply.status).toBe(301);
    expect(reply.headers.location).toBe(`https://localhost:${stack.httpsPort}/api/catalog/books?q=dune&limit=2`);
  });

  it('TLS 1.2 and 1.3 only, with forward-secret AEAD ciphers; TLS 1.1, weak ciphers and unknown CAs fail', async () => {
    const v13 = await handshake(stack.httpsPort, ca, { minVersion: 'TLSv1.3' });
    const v12 = await handshake(stack.httpsPort, ca, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    // The client is allowed to offer TLS 1.0/1.1 (security level 0), so a failure is the server's refusal.
    const v11 = await handshake(stack.httpsPort, ca, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
    const cbc = await handshake(stack.httpsPort, ca, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES128-SHA:AES256-SHA' });
    const untrusted = await handshake(stack.httpsPort, tls.rootCertificates.join('\n'));
    console.log(
      `TLS 1.3: ${JSON.stringify(v13)}\nTLS 1.2: ${JSON.stringify(v12)}\nTLS 1.1: ${JSON.stringify(v11)}\n` +
        `TLS 1.2 CBC ciphers: ${JSON.stringify(cbc)}\npublic CAs only: ${JSON.stringify(untrusted)}`,
    );
    expect(v13).toMatchObject({ ok: true, protocol: 'TLSv1.3' });
    expect(v12).toMatchObject({ ok: true, protocol: 'TLSv1.2' });
    expect(v12.ok && v12.cipher).toMatch(/^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
    expect(v11.ok).toBe(false);
    expect(!v11.ok && v11.code).toMatch(/PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL/);
    expect(cbc.ok).toBe(false);
    expect(untrusted.ok).toBe(false);
  });

  it('HSTS on every answer (once), and HTTP/2 is negotiated and serves the API', async () => {
    for (const path of ['/api/catalog/books?limit=1', '/api/auth/me', '/nowhere']) {
      const reply = await api('GET', path);
      expect(reply.headers['strict-transport-security'], path).toBe('max-age=63072000');
    }
    const alpn = await handshake(stack.httpsPort, ca, { ALPNProtocols: ['h2', 'http/1.1'] });
    expect(alpn).toMatchObject({ ok: true, alpn: 'h2' });

    const books = await http2Request(stack.httpsPort, ca, 'GET', '/api/catalog/books?limit=1');
    expect(books.alpn).toBe('h2');
    expect(books.status).toBe(200);
    expect(books.headers['strict-transport-security']).toBe('max-age=63072000');
    expect(JSON.parse(books.text).items).toBeInstanceOf(Array);

    // Over HTTP/2 the host arrives as :authority; the app must still see it for its Origin check.
    const buyer = await signUp('Twohttp');
    const cookie = cookieOf(buyer.setCookie);
    const sold = await api('POST', '/api/catalog/books', { token: buyer.token, body: { title: 'Streams', author: 'H. Two', priceCents: 700, stock: 1 } });
    const patched = await http2Request(
      stack.httpsPort,
      ca,
      'PATCH',
      `/api/catalog/books/${sold.body.book.id}`,
      { cookie, origin, 'content-type': 'application/json' },
      JSON.stringify({ stock: 2 }),
    );
    expect(patched.status, patched.text).toBe(200);
  });

  it('/healthz, /readyz, /metrics and internal routes are not reachable through NGINX; /api/docs is', async () => {
    const token = stack.secrets.get('internal_token')!;
    const paths = [
      '/healthz',
      '/readyz',
      '/metrics',
      '/internal/auth/resolveSession',
      '/api/auth/../../internal/auth/resolveSession',
      '/api/auth/%2e%2e/%2e%2e/internal/auth/resolveSession',
      '/api/catalog/..%2f..%2finternal/auth/resolveSession',
      '/api/auth/%2E%2E/%2E%2E/metrics',
      '//internal/auth/resolveSession',
    ];
    for (const path of paths) {
      for (const method of ['GET', 'POST']) {
        const reply = await api(method, path, { headers: { 'x-internal-token': token }, ...(method === 'POST' ? { body: { token: 'x' } } : {}) });
        expect([400, 404], `${method} ${path} → ${reply.status} ${reply.text}`).toContain(reply.status);
        expect(reply.text).not.toMatch(/# HELP|"result"|"checks"|"status":"ok"/);
      }
    }
    const notFound = await api('GET', '/metrics');
    expect(notFound.headers['content-type']).toBe('application/problem+json');
    expect(notFound.body.code).toBe('not_found');

    const docs = await api('GET', '/api/docs');
    expect(docs.status).toBe(200);
    expect(docs.headers['content-type']).toMatch(/text\/html/);
    const spec = await api('GET', '/api/docs/openapi.json', { headers: { 'accept-encoding': 'gzip' } });
    expect(spec.status).toBe(200);
    expect(spec.headers['content-encoding']).toBe('gzip');
    expect(spec.body.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.body.paths).some((path) => path.startsWith('/internal'))).toBe(false);
    expect(Object.keys(spec.body.paths).some((path) => path.startsWith('/api/auth/'))).toBe(true);
    // Each service's own reference: its page points at its own document.
    for (const module of ['catalog', 'purchase']) {
      const page = await api('GET', `/api/docs/${module}`);
      expect(page.status, module).toBe(200);
      expect(page.text).toContain(`/api/docs/${module}/openapi.json`);
      expect(page.text).not.toMatch(/["'(]\/api\/docs\/openapi\.json/);
      const document = await api('GET', `/api/docs/${module}/openapi.json`);
      expect(document.status, module).toBe(200);
      const paths = Object.keys(document.body.paths);
      expect(paths.some((path) => path.startsWith(`/api/${module}/`)), module).toBe(true);
      expect(paths.some((path) => path.startsWith('/api/auth/') || path.startsWith('/internal')), module).toBe(false);
    }
  });

  it('traffic to catalog is spread over both replicas', async () => {
    const replicas = stack.replicas.get('catalog')!;
    const before = replicas.map((replica) => replica.requestsFor('/api/catalog/books'));
    for (let i = 0; i < 40; i++) expect((await api('GET', '/api/catalog/books?limit=1')).status).toBe(200);
    // Each replica logs a request just after answering it: give the last log lines a moment to arrive.
    const servedNow = () => replicas.map((replica, index) => replica.requestsFor('/api/catalog/books') - before[index]!);
    for (let waited = 0; waited < 3000 && servedNow().reduce((a, b) => a + b, 0) < 40; waited += 50) await sleep(50);
    const served = servedNow();
    console.log(`catalog requests per replica: ${served.join(' / ')}`);
    expect(served.reduce((a, b) => a + b, 0)).toBe(40);
    for (const count of served) expect(count).toBeGreaterThanOrEqual(10);
  });

  it('killing one catalog replica (SIGKILL) during a run of anonymous reads loses no request', async () => {
    const [survivor, victim] = stack.replicas.get('catalog')!;
    const statuses: number[] = [];
    let running = true;
    const reader = async () => {
      while (running) statuses.push((await api('GET', '/api/catalog/books?limit=5&sort=price_asc')).status);
    };
    const readers = Array.from({ length: 6 }, reader);
    await sleep(1500);
    const beforeKill = statuses.length;
    const survivorBefore = survivor!.requestsFor('/api/catalog/books');
    await victim!.stop('SIGKILL');
    await sleep(2500);
    running = false;
    await Promise.all(readers);
    const failed = statuses.filter((status) => status !== 200);
    console.log(`reads during the kill: ${statuses.length} (${statuses.length - beforeKill} after it), not 200: ${failed.length}`);
    expect(victim!.running).toBe(false);
    expect(statuses.length - beforeKill).toBeGreaterThan(20);
    expect(failed).toEqual([]);
    expect(survivor!.requestsFor('/api/catalog/books') - survivorBefore).toBeGreaterThan(20);
  });

  it('scaling payment-worker from 1 to 2 while orders stream in loses no job', async () => {
    const seller = await signUp('Bulkseller');
    const buyer = await signUp('Bulkbuyer');
    const book = await api('POST', '/api/catalog/books', { token: seller.token, body: { title: 'Queue Theory', author: 'A. Erlang', priceCents: 900, stock: 500 } });
    expect(book.status).toBe(201);
    const bookId = book.body.book.id;

    // stack.yml runs 2; begin from 1 (the newest stops gracefully, as `docker service scale` does).
    await stack.scale('payment-worker', 1);
    const [original] = stack.running('payment-worker');

    const placed: string[] = [];
    let streaming = true;
    const stream = (async () => {
      for (let n = 0; streaming; n++) {
        const reply = await placeOrder(buyer.token, bookId, 1, n % 4 === 3 ? FLAKY_CARD : CARD);
        expect(reply.status, reply.text).toBe(201);
        placed.push(reply.body.order.id);
        await sleep(60);
      }
    })();
    await sleep(800);
    await stack.scale('payment-worker', 2);
    const [, added] = stack.running('payment-worker');
    await sleep(1500);
    streaming = false;
    await stream;
    const paid = await Promise.all(placed.map((orderId) => waitForOrder(buyer.token, orderId, ['paid', 'shipped', 'delivered', 'payment_failed', 'cancelled'])));
    const notPaid = paid.filter((o) => !['paid', 'shipped', 'delivered'].includes(o.status));
    const capturedTwice = paid.filter((o) => o.events.filter((e: { status: string }) => e.status === 'paid').length !== 1);
    console.log(`orders placed while scaling payment-worker 1 → 2: ${placed.length}, paid: ${paid.length - notPaid.length}`);
    expect(notPaid).toEqual([]);
    expect(capturedTwice).toEqual([]);
    for (const order of paid) expect(order.payment.status).toBe('captured');

    // The added replica takes jobs on its own: the original stops gracefully, later orders are paid.
    expect(await original!.stop('SIGTERM', 60_000)).toBe(0);
    expect(original!.output()).toContain('stopped cleanly');
    const later = await Promise.all([1, 2, 3].map(() => placeOrder(buyer.token, bookId, 1)));
    for (const reply of later) await waitForOrder(buyer.token, reply.body.order.id, ['paid', 'shipped', 'delivered']);
    expect(added!.running).toBe(true);

    const admin = await api('POST', '/api/auth/login', { body: { email: stack.environments.get('auth')!.BOOKSTORE_ADMIN_EMAIL, password: stack.secrets.get('admin_password') } });
    const stats = await api('GET', '/api/purchase/admin/queues/stats', { token: admin.body.token });
    expect(stats.status, stats.text).toBe(200);
    console.log(`payments queue after scaling: ${JSON.stringify(stats.body.queues.payments)}`);
    expect(stats.body.queues.payments).toMatchObject({ waiting: 0, active: 0, failed: 0 });
    expect((await api('GET', `/api/catalog/books/${bookId}`)).body.book.stock).toBe(500 - placed.length - later.length);
  }, 90_000);

  it('bodies over 64 KiB are refused with 413 (problem+json) at the edge; 60 KiB still reach the app', async () => {
    const padded = (bytes: number) => JSON.stringify({ title: 'x', author: 'y', priceCents: 1, stock: 1, description: 'd'.repeat(bytes - 70) });
    const big = await api('POST', '/api/catalog/books', { rawBody: padded(70 * 1024), headers: { 'content-type': 'application/json' } });
    expect(big.status).toBe(413);
    expect(big.headers['content-type']).toBe('application/problem+json');
    expect(big.body.code).toBe('payload_too_large');
    expect(big.headers['strict-transport-security']).toBe('max-age=63072000');
    expect(big.headers['x-request-id']).toBeTruthy();
    const fits = await api('POST', '/api/catalog/books', { rawBody: padded(60 * 1024), headers: { 'content-type': 'application/json' } });
    expect(fits.status).toBe(401);
    expect(fits.body.code).toBe('unauthorized');
  });

  it('a service with no running task answers 503 service_unavailable (problem+json) from NGINX', async () => {
    await stack.scale('catalog', 0);
    const reply = await api('GET', '/api/catalog/books?limit=1');
    expect(reply.status).toBe(503);
    expect(reply.headers['content-type']).toBe('application/problem+json');
    expect(reply.body.code).toBe('service_unavailable');
    expect(reply.headers['retry-after']).toBe('5');
    expect((await api('GET', '/api/auth/me')).status).toBe(401);
  });

  // Last: it uses up the sign-in allowance of 127.0.0.1, the address every request here comes from.
  it('limit_req on sign-in: a burst beyond 20 is answered 429 rate_limited by NGINX, with Retry-After', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 40 }, () => api('POST', '/api/auth/login', { body: { email: uniqueEmail('burst'), password: 'wrong password' } })),
    );
    const edge = attempts.filter((reply) => reply.status === 429 && /at the edge/.test(reply.body?.detail ?? ''));
    const app = attempts.filter((reply) => reply.status !== 429 || !/at the edge/.test(reply.body?.detail ?? ''));
    console.log(`login burst of 40: ${edge.length} × 429 from NGINX, app answered ${app.map((r) => r.status).join(',')}`);
    expect(edge.length).toBeGreaterThanOrEqual(15);
    expect(edge[0]!.headers['retry-after']).toBe('2');
    expect(edge[0]!.body.code).toBe('rate_limited');
    for (const reply of app) expect([401, 429]).toContain(reply.status);
  });
});
