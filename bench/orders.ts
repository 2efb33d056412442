/**
 * Order throughput through POST /orders on MariaDB, and the jobs per second one payment worker
 * processes.
 *
 *   npm run bench:orders [-- --seconds 10 --orders 2000]
 *
 * 1. The store (auth, catalog, purchase; no workers) runs as one process on a scratch database;
 *    autocannon posts orders (two lines each) for books with ample stock.
 * 2. With those orders waiting in the payments queue, one payment-worker process starts (payment
 *    latency 0) and we time how long it takes to pay them all.
 */
import autocannon from 'autocannon';
import { apiClient, createTestDatabase, freePort, signUp, startStoreProcess, testRedis } from '../test/harness.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? Number(args[index + 1]) : fallback;
};
const SECONDS = option('seconds', 10);
const CONNECTIONS = option('connections', 16);
const CONCURRENCY = option('concurrency', 10);

async function main() {
  const db = await createTestDatabase();
  const redis = testRedis();
  const shared = { DATABASE_URL: db.url, REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix, LOG_LEVEL: 'warn', INTERNAL_TOKEN: 'bench-internal-token-0123456789' };
  const store = await startStoreProcess({ ...shared, BOOKSTORE_MODULES: 'auth,catalog,purchase' }, freePort());
  try {
    const request = apiClient(store.url);
    const seller = await signUp(request, 'Bench Seller');
    const buyer = await signUp(request, 'Bench Buyer');
    const books: number[] = [];
    for (let i = 0; i < 10; i++) {
      const created = await request('POST', '/api/catalog/books', { token: seller.token, body: { title: `Bench Volume ${i}`, author: 'Load Gen', priceCents: 1000 + i, stock: 1_000_000 } });
      books.push(created.body.book.id);
    }
    const body = (i: number) =>
      JSON.stringify({
        items: [{ bookId: books[i % books.length], quantity: 1 }, { bookId: books[(i + 3) % books.length], quantity: 2 }],
        deliveryProviderId: 'envia',
        shippingAddress: { name: 'Bench Buyer', line1: '1 Load Street', city: 'Loopback', country: 'CO' },
        payment: { method: 'card', cardNumber: '4242424242424242', expMonth: 12, expYear: 2040, cvc: '123' },
      });
    const result = await autocannon({
      url: `${store.url}/api/purchase/orders`,
      connections: CONNECTIONS,
      duration: SECONDS,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${buyer.token}` },
      body: body(0),
    });
    const waiting = async () => Number(((await db.query("select count(*) as n from purchase_orders where status = 'pending_payment'")) as { n: number }[])[0]!.n);
    const placed = await waiting();
    console.log(`POST /orders: ${result.requests.average.toFixed(0)} orders/s (c=${CONNECTIONS}), mean ${result.latency.average.toFixed(1)} ms, p99 ${result.latency.p99} ms, non-2xx ${result.non2xx}, errors ${result.errors}; ${placed} orders waiting for payment`);

    const started = Date.now();
    const worker = await startStoreProcess({ ...shared, BOOKSTORE_MODULES: 'payment-worker', CATALOG_URL: store.url, PAYMENT_DELAY_MS: '0', WORKER_CONCURRENCY: String(CONCURRENCY) }, freePort());
    const ready = Date.now();
    let remaining = placed;
    while (remaining > 0 && Date.now() - ready < 300_000) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      remaining = await waiting();
    }
    const seconds = (Date.now() - ready) / 1000;
    console.log(`payment worker (concurrency ${CONCURRENCY}): ${placed - remaining} jobs in ${seconds.toFixed(1)} s = ${((placed - remaining) / seconds).toFixed(0)} jobs/s (process start ${(ready - started) / 1000} s not counted)`);
    await worker.stop();
  } finally {
    await store.stop();
    await db.drop();
    await redis.drop();
  }
}

await main();
process.exit(0);
