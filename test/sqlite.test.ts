/**
 * A smaller run of the same routes on the SQLite embedded default: no MariaDB, no Redis (in-memory
 * rate limits), the demo catalog seeded at start.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, signUp, startTestStore, uniqueEmail, type ApiRequest, expectProblem } from './harness.js';
import type { RunningStore } from '../kernel/store.js';
// What the demo seed should have listed, to check the embedded store seeded all of it.
import { demoBooks } from '../modules/catalog/demo-data.js';

describe('the store on SQLite without Redis', () => {
  let dir: string;
  let store: RunningStore;
  let request: ApiRequest;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bookstore-sqlite-'));
    store = await startTestStore({
      DATABASE_URL: `sqlite:${join(dir, 'bookstore.db')}`,
      BOOKSTORE_SEED: 'demo',
      PAYMENT_DELAY_MS: '20',
      DELIVERY_SHIP_DELAY_MS: '50',
      DELIVERY_TRANSIT_DELAY_MS: '50',
    });
    request = apiClient(store.url);
  });

  afterAll(async () => {
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('/readyz answers 200 with the database check and no Redis check', async () => {
    const response = await request('GET', '/readyz');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ready', checks: { database: 'ok' } });
  });

  it('has the demo catalog', async () => {
    const response = await request('GET', '/api/catalog/books');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ page: 1, limit: 20 });
    expect(response.body.total).toBeGreaterThanOrEqual(200);
    expect(response.body.total).toBe(demoBooks.length);
    expect(response.body.items).toHaveLength(20);
  });

  it('searches the demo catalog by author, ignoring case and accents', async () => {
    const tolkien = await request('GET', '/api/catalog/books?q=tolkien&limit=100');
    expect(tolkien.status).toBe(200);
    const expected = demoBooks.filter((b) => b.author === 'J.R.R. Tolkien');
    expect(expected.length).toBeGreaterThan(0);
    expect(tolkien.body.total).toBe(expected.length);
    expect(new Set(tolkien.body.items.map((b: { title: string }) => b.title))).toEqual(new Set(expected.map((b) => b.title)));

    const hobbit = await request('GET', '/api/catalog/books?q=HOBB%20tolk');
    expect(hobbit.body.items.map((b: { title: string }) => b.title)).toEqual(['The Hobbit']);

    const marquez = await request('GET', '/api/catalog/books?q=marquez&limit=100');
    expect(marquez.body.total).toBe(demoBooks.filter((b) => b.author === 'Gabriel García Márquez').length);
    expect(marquez.body.items.every((b: { author: string }) => b.author === 'Gabriel García Márquez')).toBe(true);
  });

  it('sorts and filters the demo catalog', async () => {
    const cheapest = await request('GET', '/api/catalog/books?sort=price_asc&limit=5&inStock=true&minPriceCents=600');
    expect(cheapest.status).toBe(200);
    const prices = cheapest.body.items.map((b: { priceCents: number }) => b.priceCents);
    const expected = demoBooks
      .filter((b) => b.stock > 0 && b.priceCents >= 600)
      .map((b) => b.priceCents)
      .sort((a, b) => a - b);
    expect(prices).toEqual(expected.slice(0, 5));
    expect(cheapest.body.total).toBe(expected.length);
    expectProblem(await request('GET', '/api/catalog/books?sort=cheapest'), 400, 'validation_failed');
  });

  it('the author filter treats % and _ as plain text, as on MariaDB', async () => {
    const seller = await signUp(request, 'Wildcard Lite', '10.88.3.1');
    const percent = await request('POST', '/api/catalog/books', { token: seller.token, body: { title: 'Percent Qwyxb', author: 'The 50% Club', priceCents: 100, stock: 1 } });
    const underscore = await request('POST', '/api/catalog/books', { token: seller.token, body: { title: 'Underscore Qwyxb', author: 'Jim O_Neil', priceCents: 100, stock: 1 } });
    expect(percent.status).toBe(201);
    expect(underscore.status).toBe(201);
    const byPercent = await request('GET', '/api/catalog/books?q=qwyxb&author=50%25');
    expect(byPercent.body.items.map((b: { id: number }) => b.id)).toEqual([percent.body.book.id]);
    const byUnderscore = await request('GET', '/api/catalog/books?q=qwyxb&author=O_Neil');
    expect(byUnderscore.body.items.map((b: { id: number }) => b.id)).toEqual([underscore.body.book.id]);
  });

  it('register → login → me → sell → change → others refused → remove', async () => {
    const email = uniqueEmail('lite');
    const password = 'a long enough password';
    const headers = { 'x-forwarded-for': '10.88.0.1' };

    const registered = await request('POST', '/api/auth/register', { body: { name: 'Lite Seller', email, password }, headers });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    expect(registered.body.user).toMatchObject({ name: 'Lite Seller', email, role: 'customer' });

    const login = await request('POST', '/api/auth/login', { body: { email, password }, headers });
    expect(login.status).toBe(200);
    expect(login.body).toEqual({ token: expect.any(String), expiresAt: expect.any(String), user: registered.body.user });
    expect(login.headers.get('set-cookie')).toMatch(/bookstore_session=/);
    const token = login.body.token as string;

    const me = await request('GET', '/api/auth/me', { token });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ user: registered.body.user });

    const created = await request('POST', '/api/catalog/books', {
      token,
      body: { title: 'Embedded Databases Explained', author: 'Qwyxa Sqlington', priceCents: 2100, stock: 2 },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const book = created.body.book;
    expect(book).toMatchObject({ title: 'Embedded Databases Explained', priceCents: 2100, stock: 2, currency: 'USD', sellerId: me.body.user.id, isbn: null, description: '' });

    const found = await request('GET', '/api/catalog/books?q=embedded%20qwyxa');
    expect(found.body.items.map((b: { id: number }) => b.id)).toEqual([book.id]);

    const patched = await request('PATCH', `/api/catalog/books/${book.id}`, { token, body: { priceCents: 1900, title: 'Embedded Storage Explained' } });
    expect(patched.status).toBe(200);
    expect(patched.body.book).toMatchObject({ id: book.id, priceCents: 1900, title: 'Embedded Storage Explained' });
    expect((await request('GET', '/api/catalog/books?q=storage%20qwyxa')).body.total).toBe(1);
    expect((await request('GET', '/api/catalog/books?q=embedded%20databases%20qwyxa')).body.total).toBe(0);

    const other = await signUp(request, 'Other Lite', '10.88.0.2');
    expectProblem(await request('PATCH', `/api/catalog/books/${book.id}`, { token: other.token, body: { priceCents: 1 } }), 403, 'forbidden');
    expectProblem(await request('DELETE', `/api/catalog/books/${book.id}`, { token: other.token }), 403, 'forbidden');
    expect((await request('GET', `/api/catalog/books/${book.id}`)).body.book.priceCents).toBe(1900);

    const mine = await request('GET', '/api/catalog/my-books', { token });
    expect(mine.body).toMatchObject({ total: 1, items: [{ id: book.id }] });

    const removed = await request('DELETE', `/api/catalog/books/${book.id}`, { token });
    expect(removed.status).toBe(204);
    expectProblem(await request('GET', `/api/catalog/books/${book.id}`), 404, 'not_found');
    expect((await request('GET', '/api/catalog/books?q=storage%20qwyxa')).body.total).toBe(0);
    expect((await request('GET', '/api/catalog/my-books', { token })).body.total).toBe(0);
  });

  it('answers 429 with Retry-After after 5 failed logins for one email (in-memory limiter)', async () => {
    const user = await signUp(request, 'Locked Out', '10.88.1.1');
    const headers = { 'x-forwarded-for': '10.88.1.2' };
    for (let attempt = 1; attempt <= 5; attempt++) {
      const failed = await request('POST', '/api/auth/login', { body: { email: user.email, password: 'wrong password!' }, headers });
      expectProblem(failed, 401, 'invalid_credentials');
    }
    const limited = await request('POST', '/api/auth/login', { body: { email: user.email, password: 'wrong password!' }, headers });
    expectProblem(limited, 429, 'rate_limited');
    const retryAfter = limited.headers.get('retry-after');
    expect(retryAfter).toMatch(/^\d+$/);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(retryAfter)).toBeLessThanOrEqual(15 * 60);

    // The email is locked even with the right password, and from another address.
    const rightPassword = await request('POST', '/api/auth/login', { body: { email: user.email.toUpperCase(), password: user.password }, headers: { 'x-forwarded-for': '10.88.1.3' } });
    expectProblem(rightPassword, 429, 'rate_limited');

    // Another account is not affected.
    const bystander = await signUp(request, 'Bystander Lite', '10.88.1.4');
    const fine = await request('POST', '/api/auth/login', { body: { email: bystander.email, password: bystander.password }, headers });
    expect(fine.status).toBe(200);
  });

  it('logout ends the session: the token and the cookie stop working', async () => {
    const user = await signUp(request, 'Leaving Lite', '10.88.2.1');
    const cookie = `bookstore_session=${/bookstore_session=([^;]+)/.exec(user.cookie)?.[1] ?? ''}`;
    expect((await request('GET', '/api/auth/me', { token: user.token })).status).toBe(200);
    expect((await request('GET', '/api/auth/me', { headers: { cookie } })).status).toBe(200);

    const logout = await request('POST', '/api/auth/logout', { token: user.token });
    expect(logout.status).toBe(204);

    expectProblem(await request('GET', '/api/auth/me', { token: user.token }), 401, 'unauthorized');
    expectProblem(await request('GET', '/api/auth/me', { headers: { cookie } }), 401, 'unauthorized');
    expectProblem(
      await request('POST', '/api/catalog/books', { token: user.token, body: { title: 'After Logout', author: 'Ghost', priceCents: 100, stock: 1 } }),
      401,
      'unauthorized',
    );
    expectProblem(await request('POST', '/api/auth/logout', { token: user.token }), 401, 'unauthorized');
  });

  it('runs the whole purchase flow with in-process jobs: delivered, declined, cancelled', async () => {
    const seller = await signUp(request, 'Lite Seller', '192.0.2.10');
    const buyer = await signUp(request, 'Lite Buyer', '192.0.2.11');
    const created = await request('POST', '/api/catalog/books', { token: seller.token, body: { title: 'Embedded Orders', author: 'Sq Lite', priceCents: 700, stock: 3 } });
    const bookId = created.body.book.id as number;
    const order = (cardNumber: string) =>
      request('POST', '/api/purchase/orders', {
        token: buyer.token,
        body: {
          items: [{ bookId, quantity: 1 }],
          deliveryProviderId: 'servientrega',
          shippingAddress: { name: 'Lite Buyer', line1: 'Calle 1', city: 'Cali', country: 'CO' },
          payment: { method: 'card', cardNumber, expMonth: 1, expYear: 2099, cvc: '999' },
        },
      });
    const statusOf = async (id: string, wanted: string) => {
      for (let i = 0; i < 100; i++) {
        const current = (await request('GET', `/api/purchase/orders/${id}`, { token: buyer.token })).body.order;
        if (current.status === wanted) return current;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`order ${id} never became ${wanted}`);
    };

    const good = await order('4242424242424242');
    expect(good.status, JSON.stringify(good.body)).toBe(201);
    expect((await statusOf(good.body.order.id, 'delivered')).events.map((e: { status: string }) => e.status)).toEqual(['pending_payment', 'paid', 'shipped', 'delivered']);

    const declined = await order('4000000000000002');
    expect((await statusOf(declined.body.order.id, 'payment_failed')).payment.status).toBe('declined');

    const cancelled = await order('4242424242424242');
    const cancel = await request('POST', `/api/purchase/orders/${cancelled.body.order.id}/cancel`, { token: buyer.token });
    expect(cancel.status).toBe(200);
    expect(cancel.body.order.status).toBe('cancelled');

    // One copy delivered; the declined and the cancelled ones came back.
    expect((await request('GET', `/api/catalog/books/${bookId}`)).body.book.stock).toBe(2);
  });
});
