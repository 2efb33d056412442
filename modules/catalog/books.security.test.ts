/**
 * Every signed-in catalog route (POST, PATCH and DELETE /books, GET /my-books) passes the checks that
 * test/protected-route.ts writes once: 401, 403 for a cookie change without our Origin, malformed
 * JSON, unknown fields, 405; on each backend. And cookie sessions in detail, on MariaDB and Redis:
 * the cookie's attributes, changes from our own origin accepted, reads needing no Origin.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { describeOnEachBackend, expectProblem, servicesAvailable, signUp } from '../../test/harness.js';
import { itIsAProtectedRoute } from '../../test/protected-route.js';
import { nextAddress, word, listBook, newUser, useCatalogStack, type Book, type User } from './books.testkit.js';

const ready = await servicesAvailable('modules/catalog/books.security.test.ts', ['mysql', 'redis']);

describe.runIf(ready)('catalog writes with a cookie session', () => {
  const stack = useCatalogStack();
  const { request, createBook } = stack;

  describe('cookie authentication for catalog writes', () => {
    let user: User;
    let cookie: string;
    beforeAll(async () => {
      user = await signUp(request, 'Cookie Monster', nextAddress());
      const session = /(?:^|[;,]\s*)bookstore_session=([^;]+)/.exec(user.cookie)?.[1];
      expect(session).toBeTruthy();
      cookie = `bookstore_session=${session}`;
    });
    const body = () => ({ title: `Cookie Jar ${word()}`, author: 'Crumb Baker', priceCents: 350, stock: 4 });

    it('the login cookie is HttpOnly and SameSite=Lax', () => {
      expect(user.cookie).toMatch(/HttpOnly/i);
      expect(user.cookie).toMatch(/SameSite=Lax/i);
    });

    it('a cookie-authenticated POST without Origin is refused with 403 forbidden', async () => {
      const response = await request('POST', '/api/catalog/books', { body: body(), headers: { cookie } });
      expectProblem(response, 403, 'forbidden');
      const mine = await request('GET', '/api/catalog/my-books', { token: user.token });
      expect(mine.body.total).toBe(0);
    });

    it('a cookie-authenticated POST from another origin is refused with 403 forbidden', async () => {
      const response = await request('POST', '/api/catalog/books', { body: body(), headers: { cookie, origin: 'https://evil.example' } });
      expectProblem(response, 403, 'forbidden');
      const sameHostOtherScheme = await request('POST', '/api/catalog/books', { body: body(), headers: { cookie, origin: stack.store.url.replace('http:', 'https:') } });
      expectProblem(sameHostOtherScheme, 403, 'forbidden');
      const mine = await request('GET', '/api/catalog/my-books', { token: user.token });
      expect(mine.body.total).toBe(0);
    });

    it("a cookie-authenticated POST from the store's own origin is accepted", async () => {
      const sent = body();
      const response = await request('POST', '/api/catalog/books', { body: sent, headers: { cookie, origin: stack.store.url } });
      expect(response.status, JSON.stringify(response.body)).toBe(201);
      expect(response.body.book).toMatchObject({ ...sent, sellerId: user.user.id, currency: 'USD' });
    });

    it('cookie PATCH and DELETE follow the same origin rule', async () => {
      const book = await createBook(user.token);
      const path = `/api/catalog/books/${book.id}`;
      expectProblem(await request('PATCH', path, { body: { stock: 0 }, headers: { cookie } }), 403, 'forbidden');
      expectProblem(await request('PATCH', path, { body: { stock: 0 }, headers: { cookie, origin: 'https://evil.example' } }), 403, 'forbidden');
      expect((await request('GET', path)).body.book.stock).toBe(book.stock);
      const patched = await request('PATCH', path, { body: { stock: 0 }, headers: { cookie, origin: stack.store.url } });
      expect(patched.status).toBe(200);
      expect(patched.body.book.stock).toBe(0);
      expectProblem(await request('DELETE', path, { headers: { cookie, origin: 'https://evil.example' } }), 403, 'forbidden');
      expect((await request('DELETE', path, { headers: { cookie, origin: stack.store.url } })).status).toBe(204);
      expect((await request('GET', path)).status).toBe(404);
    });

    it('a cookie-authenticated read needs no Origin', async () => {
      const response = await request('GET', '/api/catalog/my-books', { headers: { cookie } });
      expect(response.status).toBe(200);
      expect(response.body.items.every((b: Book) => b.sellerId === user.user.id)).toBe(true);
    });
  });
});

describeOnEachBackend('catalog routes are protected', (store) => {
  let seller: string;
  let bookId: number;

  beforeAll(async () => {
    seller = (await newUser(store())).token;
    ({ book: { id: bookId } } = await listBook(store(), seller));
  });

  const session = () => seller;
  const book = () => ({ id: bookId });
  const listing = () => ({ title: 'A Valid Title', author: 'A Valid Author', priceCents: 100, stock: 1 });

  itIsAProtectedRoute(store, { method: 'POST', path: '/api/catalog/books', allow: 'GET, HEAD, POST', body: listing, session });
  itIsAProtectedRoute(store, { method: 'PATCH', path: '/api/catalog/books/{id}', params: book, allow: 'GET, HEAD, PATCH, DELETE', body: () => ({ priceCents: 1200 }), session });
  itIsAProtectedRoute(store, { method: 'DELETE', path: '/api/catalog/books/{id}', params: book, allow: 'GET, HEAD, PATCH, DELETE', session });
  itIsAProtectedRoute(store, { method: 'GET', path: '/api/catalog/my-books', allow: 'GET, HEAD', session });
});
