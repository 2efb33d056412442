/**
 * The purchase flow across real processes: every role in a process of its own talking over
 * internal HTTP, a payment worker killed mid-payment, and Redis down while orders are placed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

const ready = await servicesAvailable('test/purchase-processes.test.ts', ['mysql', 'redis']);
const INTERNAL_TOKEN = 'purchase-processes-token-0123456789';

const CARD = { method: 'card', cardNumber: '4242424242424242', expMonth: 12, expYear: 2040, cvc: '123' };
const ADDRESS = { name: 'Ada Buyer', line1: '1 Loopback Lane', city: 'Localhost', country: 'CO' };

async function sellAndBuyer(request: ApiRequest, stock = 5) {
  const seller = await signUp(request, 'Proc Seller');
  const buyer = await signUp(request, 'Proc Buyer');
  return { seller, buyer, stock };
}

async function listBook(catalog: ApiRequest, token: string, stock: number) {
  const created = await catalog('POST', '/api/catalog/books', { token, body: { title: 'Process Testing', author: 'Loop Back', priceCents: 1500, stock } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.book as { id: number; stock: number };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function waitForStatus(purchase: ApiRequest, token: string, orderId: string, status: string, timeoutMs?: number) {
  return waitFor(
    `order ${orderId} to be ${status}`,
    async () => {
      const response = await purchase('GET', `/api/purchase/orders/${orderId}`, { token });
      return response.body?.order?.status === status ? response.body.order : undefined;
    },
    timeoutMs,
  );
}

describe.runIf(ready)('every role in its own process', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  const processes: StoreProcess[] = [];
  let auth: ApiRequest;
  let catalog: ApiRequest;
  let purchase: ApiRequest;

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = testRedis();
    const shared = { DATABASE_URL: db.url, REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix, INTERNAL_TOKEN };
    const authProcess = await startStoreProcess({ ...shared, BOOKSTORE_MODULES: 'auth' }, await freePort());
    const catalogProcess = await startStoreProcess({ ...shared, BOOKSTORE_MODULES: 'catalog', AUTH_URL: authProcess.url }, await freePort());
    const urls = { AUTH_URL: authProcess.url, CATALOG_URL: catalogProcess.url };
    const purchaseProcess = await startStoreProcess({ ...shared, ...urls, BOOKSTORE_MODULES: 'purchase' }, await freePort());
    const delays = { PAYMENT_DELAY_MS: '50', DELIVERY_SHIP_DELAY_MS: '100', DELIVERY_TRANSIT_DELAY_MS: '100' };
    processes.push(authProcess, catalogProcess, purchaseProcess);
    processes.push(await startStoreProcess({ ...shared, ...urls, ...delays, BOOKSTORE_MODULES: 'payment-worker' }, await freePort()));
    processes.push(await startStoreProcess({ ...shared, ...urls, ...delays, BOOKSTORE_MODULES: 'delivery-worker' }, await freePort()));
    auth = apiClient(authProcess.url);
    catalog = apiClient(catalogProcess.url);
    purchase = apiClient(purchaseProcess.url);
  });

  afterAll(async () => {
    for (const process of processes) await process.stop();
    await db?.drop();
    await redis?.drop();
  });

  it('an order goes from pending_payment to delivered across five processes', async () => {
    const { seller, buyer } = await sellAndBuyer(auth);
    const book = await listBook(catalog, seller.token, 3);
    const placed = await purchase('POST', '/api/purchase/orders', {
      token: buyer.token,
      body: { items: [{ bookId: book.id, quantity: 2 }], deliveryProviderId: 'dhl', shippingAddress: ADDRESS, payment: CARD },
    });
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    expect(placed.body.order).toMatchObject({ status: 'pending_payment', subtotalCents: 3000, deliveryCostCents: 2500, totalCents: 5500 });
    const delivered = await waitForStatus(purchase, buyer.token, placed.body.order.id, 'delivered');
    expect(delivered.events.map((e: { status: string }) => e.status)).toEqual(['pending_payment', 'paid', 'shipped', 'delivered']);
    expect((await catalog('GET', `/api/catalog/books/${book.id}`)).body.book.stock).toBe(1);
    const sales = await purchase('GET', '/api/purchase/sales', { token: seller.token });
    expect(sales.body.items).toEqual([expect.objectContaining({ orderId: placed.body.order.id, bookId: book.id, quantity: 2, orderStatus: 'delivered' })]);
  });

  it('a worker process serves health and metrics only', async () => {
    const worker = apiClient(processes[3]!.url);
    expect((await worker('GET', '/healthz')).status).toBe(200);
    expect((await worker('GET', '/readyz')).body.checks).toEqual({ database: 'ok', redis: 'ok' });
    expect((await worker('GET', '/api/purchase/orders')).status).toBe(404);
    const metrics = await fetch(`${processes[3]!.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/bookstore_queue_jobs\{[^}]*queue="payments"[^}]*state="completed"[^}]*\} [1-9]/);
  });
});

describe.runIf(ready)('a payment worker killed mid-payment', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let store: StoreProcess;
  const workers: StoreProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = testRedis();
    store = await startStoreProcess(
      { DATABASE_URL: db.url, REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix, BOOKSTORE_MODULES: 'auth,catalog,purchase,delivery-worker' },
      await freePort(),
    );
  });

  afterAll(async () => {
    for (const worker of workers) await worker.stop('SIGKILL');
    await store?.stop();
    await db?.drop();
    await redis?.drop();
  });

  it('another worker finishes the order, and the payment is captured once', async () => {
    const request = apiClient(store.url);
    const { seller, buyer } = await sellAndBuyer(request);
    const book = await listBook(request, seller.token, 2);
    // Half of the 6 s simulated latency passes before the capture, half after: we kill in the second half.
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: redis.prefix,
      BOOKSTORE_MODULES: 'payment-worker',
      CATALOG_URL: store.url,
      INTERNAL_TOKEN,
      PAYMENT_DELAY_MS: '6000',
      JOB_LOCK_MS: '2000',
    };
    const doomed = await startStoreProcess(env, await freePort());
    workers.push(doomed);
    const placed = await request('POST', '/api/purchase/orders', {
      token: buyer.token,
      body: { items: [{ bookId: book.id, quantity: 1 }], deliveryProviderId: 'envia', shippingAddress: ADDRESS, payment: CARD },
    });
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    const orderId = placed.body.order.id as string;

    await waitFor('the capture', async () => {
      const rows = (await db.query('select status from purchase_gateway_charges where order_id = ?', [orderId])) as { status: string }[];
      return rows[0]?.status === 'captured' ? true : undefined;
    });
    expect((await request('GET', `/api/purchase/orders/${orderId}`, { token: buyer.token })).body.order.status).toBe('pending_payment');
    await doomed.stop('SIGKILL');

    workers.push(await startStoreProcess({ ...env, PAYMENT_DELAY_MS: '100' }, await freePort()));
    const paid = await waitFor('the order to be paid', async () => {
      const order = (await request('GET', `/api/purchase/orders/${orderId}`, { token: buyer.token })).body.order;
      return order.status === 'paid' || order.status === 'shipped' || order.status === 'delivered' ? order : undefined;
    }, 30_000);
    expect(paid.payment.status).toBe('captured');
    const [charge] = (await db.query('select captures, status from purchase_gateway_charges where order_id = ?', [orderId])) as { captures: number; status: string }[];
    expect(charge).toEqual({ captures: 1, status: 'captured' });
    const paidEvents = (await db.query("select count(*) as n from purchase_order_events where order_id = ? and status = 'paid'", [orderId])) as { n: number }[];
    expect(Number(paidEvents[0]!.n)).toBe(1);
  }, 60_000);

  it('a worker told to stop finishes its active payment first', async () => {
    for (const earlier of workers.splice(0)) await earlier.stop('SIGKILL');
    const request = apiClient(store.url);
    const { seller, buyer } = await sellAndBuyer(request);
    const book = await listBook(request, seller.token, 1);
    const worker = await startStoreProcess(
      { DATABASE_URL: db.url, REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix, BOOKSTORE_MODULES: 'payment-worker', CATALOG_URL: store.url, INTERNAL_TOKEN, PAYMENT_DELAY_MS: '1500' },
      await freePort(),
    );
    const placed = await request('POST', '/api/purchase/orders', {
      token: buyer.token,
      body: { items: [{ bookId: book.id, quantity: 1 }], deliveryProviderId: 'envia', shippingAddress: ADDRESS, payment: { method: 'paypal', email: 'buyer@example.test' } },
    });
    const orderId = placed.body.order.id as string;
    // The gateway row appears halfway through the payment: the job is active when SIGTERM arrives.
    await waitFor('the payment to start', async () => {
      const rows = (await db.query('select attempts from purchase_gateway_charges where order_id = ?', [orderId])) as unknown[];
      return rows.length ? true : undefined;
    }, 10_000);
    expect((await request('GET', `/api/purchase/orders/${orderId}`, { token: buyer.token })).body.order.status).toBe('pending_payment');
    expect(await worker.stop('SIGTERM')).toBe(0);
    // No other payment worker runs: only the stopping one can have finished it.
    const order = (await request('GET', `/api/purchase/orders/${orderId}`, { token: buyer.token })).body.order;
    expect(['paid', 'shipped', 'delivered']).toContain(order.status);
  }, 30_000);
});

/** A redis-server of this test's own, on its own port, so stopping it leaves the shared one alone. */
class PrivateRedis {
  private child: ChildProcess | undefined;
  port = 0;
  readonly dir = mkdtempSync(join(tmpdir(), 'bookstore-redis-'));

  async start() {
    // Restarts reuse the first port: the store keeps its REDIS_URL.
    if (!this.port) this.port = await freePort();
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir], { stdio: 'ignore' });
    await waitFor('redis to start', async () => {
      const response = await fetch(`http://127.0.0.1:${this.port}`).catch((error: Error) => error);
      return response instanceof Error && /ECONNREFUSED/.test(String((response as { cause?: unknown }).cause)) ? undefined : true;
    }, 10_000);
  }

  async stop() {
    if (!this.child || this.child.exitCode !== null) return;
    this.child.kill('SIGKILL');
    await once(this.child, 'exit');
  }

  cleanup() {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe.runIf(ready)('Redis down while an order is placed', () => {
  let db: TestDatabase;
  let redis: PrivateRedis;
  let store: StoreProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = new PrivateRedis();
    await redis.start();
    store = await startStoreProcess(
      { DATABASE_URL: db.url, REDIS_URL: `redis://127.0.0.1:${redis.port}`, PAYMENT_DELAY_MS: '50', DELIVERY_SHIP_DELAY_MS: '50', DELIVERY_TRANSIT_DELAY_MS: '50' },
      await freePort(),
    );
  });

  afterAll(async () => {
    await store?.stop();
    await redis?.stop();
    redis?.cleanup();
    await db?.drop();
  });

  it('accepts the order, then pays it once Redis is back', async () => {
    const request = apiClient(store.url);
    const { seller, buyer } = await sellAndBuyer(request);
    const book = await listBook(request, seller.token, 2);

    await redis.stop();
    const placed = await request('POST', '/api/purchase/orders', {
      token: buyer.token,
      body: { items: [{ bookId: book.id, quantity: 1 }], deliveryProviderId: 'fedex', shippingAddress: ADDRESS, payment: CARD },
    });
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    const orderId = placed.body.order.id as string;
    const outbox = (await db.query('select dispatched_at from purchase_outbox where order_id = ?', [orderId])) as { dispatched_at: Date | null }[];
    expect(outbox).toEqual([{ dispatched_at: null }]);
    expect((await request('GET', '/readyz')).status).toBe(503);

    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await request('GET', `/api/purchase/orders/${orderId}`, { token: buyer.token })).body.order.status).toBe('pending_payment');

    await redis.start();
    const delivered = await waitForStatus(request, buyer.token, orderId, 'delivered', 40_000);
    expect(delivered.payment.status).toBe('captured');
    expect((await request('GET', '/readyz')).status).toBe(200);
  }, 60_000);
});
