/**
 * Issue 10: the API flow on the real stack, over https://localhost (NGINX's host-mode port on
 * 127.0.0.1) with the local CA: register, sign in, sell, order, paid → shipped → delivered,
 * cancel, logout; and the administrator from the stack's secret.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpsClient } from '../stack/https.js';
import { plainHttp } from '../stack/https.js';
import { ADDRESS, adminCredentials, CARD, PASSWORD, sellBook, signUp, sleep, storeClient, swarmAvailable } from './swarm.js';

const ready = swarmAvailable('test/swarm/flow.swarm.ts');

describe.runIf(ready)('the real stack: the API flow through NGINX over HTTPS', () => {
  let api: HttpsClient;
  beforeAll(() => {
    api = storeClient();
  });
  afterAll(() => api?.close());

  async function waitForOrder(token: string, id: string, statuses: string[], timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      const reply = await api('GET', `/api/purchase/orders/${id}`, { token });
      last = reply.body?.order;
      if (statuses.includes(reply.body?.order?.status)) return reply.body.order;
      await sleep(200);
    }
    throw new Error(`order ${id} did not reach ${statuses.join(' or ')}: ${JSON.stringify(last)}`);
  }

  it('register, sign in, sell, order, paid → shipped → delivered, cancel, logout', async () => {
    const seller = await signUp(api, 'Seller');
    const buyer = await signUp(api, 'Buyer');
    const me = await api('GET', '/api/auth/me', { token: seller.token });
    expect(me.status).toBe(200);
    expect(me.body.user.email).toBe(seller.email);
    expect(me.headers['strict-transport-security']).toBe('max-age=63072000');

    const title = `Swarm Tides ${Date.now().toString(36)}`;
    const bookId = await sellBook(api, seller, title, 5);
    const listed = await api('GET', `/api/catalog/books?q=${encodeURIComponent(title)}`);
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((b: { id: number }) => b.id)).toContain(bookId);

    const order = (quantity: number) =>
      api('POST', '/api/purchase/orders', { token: buyer.token, body: { items: [{ bookId, quantity }], deliveryProviderId: 'dhl', shippingAddress: ADDRESS, payment: CARD } });
    const placed = await order(2);
    expect(placed.status, placed.text).toBe(201);
    const delivered = await waitForOrder(buyer.token, placed.body.order.id, ['delivered']);
    expect(delivered.events.map((e: { status: string }) => e.status)).toEqual(['pending_payment', 'paid', 'shipped', 'delivered']);
    expect(delivered.payment.status).toBe('captured');
    expect((await api('GET', `/api/catalog/books/${bookId}`)).body.book.stock).toBe(3);

    const second = await order(1);
    expect(second.status, second.text).toBe(201);
    await waitForOrder(buyer.token, second.body.order.id, ['paid']);
    const cancelled = await api('POST', `/api/purchase/orders/${second.body.order.id}/cancel`, { token: buyer.token });
    expect(cancelled.status, cancelled.text).toBe(200);
    await expect
      .poll(async () => (await api('GET', `/api/purchase/orders/${second.body.order.id}`, { token: buyer.token })).body.order.payment.status, { timeout: 30_000 })
      .toBe('refunded');
    await expect.poll(async () => (await api('GET', `/api/catalog/books/${bookId}`)).body.book.stock, { timeout: 30_000 }).toBe(3);

    const sales = await api('GET', '/api/purchase/sales', { token: seller.token });
    expect(sales.body.items.map((s: { orderId: string }) => s.orderId)).toContain(placed.body.order.id);

    expect((await api('POST', '/api/auth/logout', { token: buyer.token })).status).toBe(204);
    expect((await api('GET', '/api/purchase/orders', { token: buyer.token })).status).toBe(401);
    expect((await api('GET', '/api/auth/me', { token: buyer.token })).status).toBe(401);
    expect((await api('POST', '/api/auth/logout', { token: seller.token })).status).toBe(204);
  });

  it('the administrator signs in with the password from its Docker secret', async () => {
    const admin = adminCredentials();
    const login = await api('POST', '/api/auth/login', { body: admin });
    expect(login.status, login.text).toBe(200);
    expect(login.body.user.role).toBe('admin');
    expect((await api('GET', '/api/purchase/admin/queues/stats', { token: login.body.token })).status).toBe(200);
  });

  it('http://localhost answers 301 to https://, and internal routes stay inside', async () => {
    const redirect = await plainHttp(80, '/api/catalog/books?limit=1');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe('https://localhost/api/catalog/books?limit=1');
    for (const path of ['/healthz', '/metrics', '/internal/auth/resolveSession']) expect((await api('GET', path)).status, path).toBe(404);
  });

  it('the storefront answers at /, and its sign-in form sets the API session cookie (Secure) through NGINX and the storefront service', async () => {
    const home = await api('GET', '/');
    expect(home.status).toBe(200);
    expect(home.headers['content-type']).toMatch(/^text\/html/);
    expect(home.text).toContain('<h1>Books</h1>');
    const stylesheet = /<link rel="stylesheet" href="(\/assets\/[^"]+)"/.exec(home.text)?.[1];
    expect((await api('GET', stylesheet!)).status).toBe(200);
    const user = await signUp(api, 'Pages');
    const form = new URLSearchParams({ email: user.email, password: PASSWORD, back: '/orders' }).toString();
    const signIn = await api('POST', '/sign-in', { rawBody: form, headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://localhost' } });
    expect(signIn.status, signIn.text.slice(0, 500)).toBe(303);
    expect(signIn.headers.location).toBe('/orders');
    const cookie = String(signIn.headers['set-cookie']?.[0] ?? '');
    expect(cookie).toMatch(/^bookstore_session=[^;]+;.*Secure/i);
    const orders = await api('GET', '/orders', { cookie: cookie.split(';')[0] });
    expect(orders.text).toContain('<h1>My orders</h1>');
  });

  it('the API reference page and its script come from the image itself (no other origin)', async () => {
    const page = await api('GET', '/api/docs');
    expect(page.status).toBe(200);
    const script = /<script src="(\/api\/docs\/assets\/[^"]+\.js)"/.exec(page.text)?.[1];
    expect(script, page.text).toBeDefined();
    const bundle = await api('GET', script!);
    expect(bundle.status).toBe(200);
    expect(bundle.headers['content-type']).toMatch(/javascript/);
    expect(bundle.text.length).toBeGreaterThan(1_000_000);
  });
});
