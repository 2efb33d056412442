/**
 * The catalog read cache: the class on its own, then two stores on one MariaDB database and one
 * Redis, where a change made through one must be what the other answers next.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { apiClient, servicesAvailable, signUp, startIsolatedStore, startTestStore, type ApiRequest, type IsolatedStore } from '../../test/harness.js';
import type { RunningStore } from '../../kernel/store.js';
import { CatalogReadCache, MAX_AGE_MS } from './read-cache.js';

const ready = await servicesAvailable('modules/catalog/read-cache.test.ts', ['mysql', 'redis']);

/** A read the test finishes when it wants, counting how often the cache asked for it. */
function controlledRead(value: object) {
  let finish: (v: object) => void = () => undefined;
  const read = vi.fn(() => new Promise<object>((resolve) => (finish = resolve)));
  return { read, finish: () => finish(value) };
}

describe('CatalogReadCache', () => {
  afterEach(() => vi.useRealTimers());

  it('asks the database once for concurrent misses of one key, then answers from memory', async () => {
    const cache = new CatalogReadCache(1024 * 1024);
    const { read, finish } = controlledRead({ total: 3 });
    const waiting = [cache.answer('k', read), cache.answer('k', read), cache.answer('k', read)];
    finish();
    const answers = await Promise.all(waiting);
    expect(read).toHaveBeenCalledTimes(1);
    expect(new Set(answers.map((a) => a.body))).toEqual(new Set(['{"total":3}']));
    expect(answers[0]!.etag).toMatch(/^W\/"[0-9a-f]{40}"$/);

    const again = await cache.answer('k', async () => ({ total: 4 }));
    expect(again.body).toBe('{"total":3}');
  });

  it('does not keep what was read while a change was announced', async () => {
    const cache = new CatalogReadCache(1024 * 1024);
    const { read, finish } = controlledRead({ stock: 1 });
    const during = cache.answer('k', read);
    cache.forget('listing');
    finish();
    expect((await during).body).toBe('{"stock":1}');
    expect((await cache.answer('k', async () => ({ stock: 0 }))).body).toBe('{"stock":0}');
  });

  it('forgets everything on a change, totals included', async () => {
    const cache = new CatalogReadCache(1024 * 1024);
    expect(await cache.total('f', false, async () => 10)).toBe(10);
    expect(await cache.total('f', false, async () => 11)).toBe(10);
    cache.forget('listing');
    expect(cache.size.entries).toBe(0);
    expect(await cache.total('f', false, async () => 11)).toBe(11);
  });

  it('on a stock change, forgets answers and stock-filtered totals but keeps the other totals', async () => {
    const cache = new CatalogReadCache(1024 * 1024);
    await cache.answer('page', async () => ({ stock: 1 }));
    expect(await cache.total('all', false, async () => 100)).toBe(100);
    expect(await cache.total('in stock', true, async () => 40)).toBe(40);
    const { read, finish } = controlledRead({ stock: 1 });
    const answerDuring = cache.answer('other page', read);
    let countDuring: (n: number) => void = () => undefined;
    const totalDuring = cache.total('by author', false, () => new Promise<number>((resolve) => (countDuring = resolve)));

    cache.forget('stock');
    finish();
    countDuring(7);
    await Promise.all([answerDuring, totalDuring]);

    expect(await cache.total('all', false, async () => 99)).toBe(100);
    expect(await cache.total('by author', false, async () => 8)).toBe(7);
    expect(await cache.total('in stock', true, async () => 39)).toBe(39);
    expect((await cache.answer('page', async () => ({ stock: 0 }))).body).toBe('{"stock":0}');
    expect((await cache.answer('other page', async () => ({ stock: 0 }))).body).toBe('{"stock":0}');
  });

  it('stays within its memory, dropping the least recently used first', async () => {
    // About 460 bytes an answer: four fit in 2,000, a fifth pushes one out.
    const cache = new CatalogReadCache(2000);
    const page = (n: number) => async () => ({ n, padding: 'x'.repeat(400) });
    for (const key of ['a', 'b', 'c', 'd']) await cache.answer(key, page(1));
    expect(cache.size.entries).toBe(4);
    await cache.answer('a', page(2)); // a is now the most recently used
    await cache.answer('e', page(1));
    expect(cache.size).toMatchObject({ entries: 4 });
    expect(cache.size.bytes).toBeLessThanOrEqual(2000);
    expect((await cache.answer('a', page(3))).body).toContain('"n":1');
    expect((await cache.answer('b', page(3))).body).toContain('"n":3');
  });

  it('keeps nothing for longer than MAX_AGE_MS, even when no change is heard of', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const cache = new CatalogReadCache(1024 * 1024);
    await cache.total('f', false, async () => 1);
    vi.setSystemTime(Date.now() + MAX_AGE_MS - 1);
    expect(await cache.total('f', false, async () => 2)).toBe(1);
    vi.setSystemTime(Date.now() + 2);
    expect(await cache.total('f', false, async () => 2)).toBe(2);
  });

  it('with no memory (CATALOG_CACHE_MB=0) reads every time', async () => {
    const cache = new CatalogReadCache(0);
    expect(await cache.total('f', false, async () => 1)).toBe(1);
    expect(await cache.total('f', false, async () => 2)).toBe(2);
    expect(cache.size.entries).toBe(0);
  });
});

describe.runIf(ready)('catalog answers across two stores on one database and one Redis', () => {
  let first: IsolatedStore;
  let second: RunningStore;
  let viaSecond: ApiRequest;

  beforeAll(async () => {
    first = await startIsolatedStore({ PAYMENT_DELAY_MS: '60000' });
    second = await startTestStore({ DATABASE_URL: first.db.url, REDIS_URL: first.redis.url, REDIS_KEY_PREFIX: first.redis.prefix, PAYMENT_DELAY_MS: '60000' });
    viaSecond = apiClient(second.url);
  });

  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it('a listing changed through one store is what the other answers next, for search and detail', async () => {
    const seller = await signUp(first.request, 'Cache Seller', '10.88.0.1');
    const tag = `zc${randomBytes(5).toString('hex')}`;
    const created = await first.request('POST', '/api/catalog/books', { token: seller.token, body: { title: `Kept ${tag}`, author: 'A. Writer', priceCents: 1500, stock: 3 } });
    expect(created.status).toBe(201);
    const id = (created.body.book as { id: number }).id;

    // The second store learns the listing and keeps its answers.
    expect((await viaSecond('GET', `/api/catalog/books?q=${tag}`)).body.total).toBe(1);
    expect(((await viaSecond('GET', `/api/catalog/books/${id}`)).body.book as { priceCents: number }).priceCents).toBe(1500);

    expect((await first.request('PATCH', `/api/catalog/books/${id}`, { token: seller.token, body: { priceCents: 999 } })).status).toBe(200);
    expect(((await viaSecond('GET', `/api/catalog/books/${id}`)).body.book as { priceCents: number }).priceCents).toBe(999);

    expect((await first.request('DELETE', `/api/catalog/books/${id}`, { token: seller.token })).status).toBe(204);
    expect((await viaSecond('GET', `/api/catalog/books?q=${tag}`)).body.total).toBe(0);
    expect((await viaSecond('GET', `/api/catalog/books/${id}`)).status).toBe(404);
  });

  it('stock taken by an order placed through one store shows at once in the other', async () => {
    const seller = await signUp(first.request, 'Stock Seller', '10.88.0.2');
    const buyer = await signUp(first.request, 'Stock Buyer', '10.88.0.3');
    const tag = `zc${randomBytes(5).toString('hex')}`;
    const created = await first.request('POST', '/api/catalog/books', { token: seller.token, body: { title: `Stocked ${tag}`, author: 'B. Writer', priceCents: 700, stock: 2 } });
    const id = (created.body.book as { id: number }).id;
    const listedStock = async () => ((await viaSecond('GET', `/api/catalog/books?q=${tag}`)).body.items as { stock: number }[])[0]!.stock;
    expect(await listedStock()).toBe(2);

    const order = await first.request('POST', '/api/purchase/orders', {
      token: buyer.token,
      body: {
        items: [{ bookId: id, quantity: 2 }],
        deliveryProviderId: 'envia',
        shippingAddress: { name: 'B', line1: '1 Road', city: 'Town', country: 'CO' },
        payment: { method: 'card', cardNumber: '4242424242424242', expMonth: 12, expYear: 2099, cvc: '123' },
      },
    });
    expect(order.status, JSON.stringify(order.body)).toBe(201);
    expect(await listedStock()).toBe(0);
    expect((await viaSecond('GET', `/api/catalog/books?q=${tag}&inStock=true`)).body.total).toBe(0);
  });
});
