/**
 * The storefront as the stack runs it: a process of its own that reaches the API services only at
 * their URLs. The visitor's address and Origin must reach the API as theirs, through the hop.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Visitor, heading, inputValue, listedBook, registeredVisitor } from '../modules/storefront/storefront.testkit.js';
import { PURCHASE_ENV } from '../modules/purchase/purchase.testkit.js';
import { apiClient, freePort, servicesAvailable, startIsolatedStore, startStoreProcess, type IsolatedStore, type StoreProcess } from './harness.js';

const ready = await servicesAvailable('test/storefront-process.test.ts', ['mysql', 'redis']);
const INTERNAL_TOKEN = 'storefront-process-token-0123456789';

describe.runIf(ready)('the storefront in its own process, calling the API services by URL', () => {
  let api: IsolatedStore;
  let storefront: StoreProcess;

  beforeAll(async () => {
    api = await startIsolatedStore({ ...PURCHASE_ENV, BOOKSTORE_MODULES: 'auth,catalog,purchase,payment-worker,delivery-worker', INTERNAL_TOKEN });
    const urls = { AUTH_URL: api.store.url, CATALOG_URL: api.store.url, PURCHASE_URL: api.store.url };
    storefront = await startStoreProcess({ BOOKSTORE_MODULES: 'storefront', DATABASE_URL: api.db.url, REDIS_URL: api.redis.url, REDIS_KEY_PREFIX: api.redis.prefix, INTERNAL_TOKEN, ...urls }, await freePort());
  }, 60_000);

  afterAll(async () => {
    await storefront?.stop();
    await api?.close();
  });

  it('serves the catalog and a checkout that places a real order', async () => {
    const id = await listedBook(api.request, { title: 'Remote Pages', stock: 2 });
    expect(heading(await new Visitor(storefront.url).get('/'))).toBe('Books');
    const buyer = await registeredVisitor(storefront.url, 'Remy Remote');
    const checkout = await buyer.get(`/checkout?book=${id}`);
    const placed = await buyer.post('/checkout', {
      book: String(id), key: inputValue(checkout, 'key')!, quantity: '1', provider: 'envia',
      addressName: 'Rémy', line1: 'Calle 1', city: 'Cali', country: 'Colombia', method: 'bank_transfer', action: 'place',
    });
    expect(placed.status, placed.html.replace(/^[\s\S]*<main/, "").slice(0, 1500)).toBe(303);
    const stock = await apiClient(api.store.url)('GET', `/api/catalog/books/${id}`);
    expect(stock.body.book.stock).toBe(1);
  });

  it('each visitor is limited by their own address, not the storefront\'s', async () => {
    const email = `limits.${Date.now()}@example.test`;
    await new Visitor(storefront.url).post('/register', { name: 'Lim Its', email, password: 'a long passphrase 42' });
    const attacker = new Visitor(storefront.url);
    for (let n = 0; n < 6; n += 1) await attacker.post('/sign-in', { email: `nobody.${n}@example.test`, password: 'wrong password 1' });
    for (let n = 0; n < 15; n += 1) await attacker.post('/sign-in', { email: `nobody.${n}@example.test`, password: 'wrong password 1' });
    expect((await attacker.post('/sign-in', { email, password: 'a long passphrase 42' })).status).toBe(429);
    const neighbour = new Visitor(storefront.url);
    expect((await neighbour.post('/sign-in', { email, password: 'a long passphrase 42' })).status).toBe(303);
  });

  it('a post from another site is refused by the API behind the storefront', async () => {
    const visitor = await registeredVisitor(storefront.url, 'Ora Origin');
    const foreign = await visitor.post('/sell', { title: 'Forged', author: 'Evil', price: '1.00', stock: '1' }, { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
  });
});
