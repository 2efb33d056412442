/**
 * GET /books/{id}, and the validators of anonymous reads: ETag and If-None-Match with 304 for a book
 * and a listing, nothing stored for a signed-in read. If-Match on changes: books.if-match.test.ts.
 * On MariaDB and Redis, one store per file (books.testkit.ts: useCatalogStack).
 */
import { describe, expect, it } from 'vitest';
import { expectProblem, servicesAvailable } from '../../test/harness.js';
import { UNKNOWN_ID, sleep, useCatalogStack, word } from './books.testkit.js';

const ready = await servicesAvailable('modules/catalog/books.read.test.ts', ['mysql', 'redis']);

describe.runIf(ready)('reading a book', () => {
  const { request, seller, other, createBook, rawGet } = useCatalogStack();

  describe('GET /api/catalog/books/{id}', () => {
    it('answers 200 {book}', async () => {
      const book = await createBook(seller.token, { title: `Moby Dick ${word()}`, author: 'Herman Melville', priceCents: 1575, stock: 2 });
      const response = await request('GET', `/api/catalog/books/${book.id}`);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ book });
    });

    it.each([UNKNOWN_ID, 'abc', '-1', '1.5', '0', '99999999999999', '1e3', '%20'])('answers 404 not_found for id %s', async (id) => {
      const response = await request('GET', `/api/catalog/books/${id}`);
      expectProblem(response, 404, 'not_found');
    });
  });

  describe('ETag', () => {
    it('anonymous GET /books/{id} carries an ETag and honours If-None-Match; a change invalidates it', async () => {
      const book = await createBook(seller.token, { title: `Cached ${word()}` });
      const path = `/api/catalog/books/${book.id}`;
      const first = await rawGet(path);
      expect(first.status).toBe(200);
      const etag = first.headers.get('etag');
      expect(etag).toMatch(/^(W\/)?"[^"]+"$/);
      expect(JSON.parse(first.text)).toEqual({ book });

      const again = await rawGet(path);
      expect(again.headers.get('etag')).toBe(etag);

      const notModified = await rawGet(path, { 'if-none-match': etag! });
      expect(notModified.status).toBe(304);
      expect(notModified.text).toBe('');
      expect(notModified.headers.get('etag')).toBe(etag);

      const otherTag = await rawGet(path, { 'if-none-match': '"something-else"' });
      expect(otherTag.status).toBe(200);

      await sleep(5);
      expect((await request('PATCH', path, { token: seller.token, body: { priceCents: 1234 } })).status).toBe(200);
      const changed = await rawGet(path, { 'if-none-match': etag! });
      expect(changed.status).toBe(200);
      expect(JSON.parse(changed.text).book.priceCents).toBe(1234);
      expect(changed.headers.get('etag')).toBeTruthy();
      expect(changed.headers.get('etag')).not.toBe(etag);
    });

    it('anonymous GET /books carries an ETag and honours If-None-Match; a change invalidates it', async () => {
      const tag = word();
      const book = await createBook(seller.token, { title: `Listed ${tag}` });
      const path = `/api/catalog/books?q=${tag}`;
      const first = await rawGet(path);
      expect(first.status).toBe(200);
      const etag = first.headers.get('etag');
      expect(etag).toMatch(/^(W\/)?"[^"]+"$/);

      const notModified = await rawGet(path, { 'if-none-match': etag! });
      expect(notModified.status).toBe(304);
      expect(notModified.text).toBe('');

      expect((await request('PATCH', `/api/catalog/books/${book.id}`, { token: seller.token, body: { stock: 9 } })).status).toBe(200);
      const changed = await rawGet(path, { 'if-none-match': etag! });
      expect(changed.status).toBe(200);
      expect(JSON.parse(changed.text).items[0].stock).toBe(9);
      expect(changed.headers.get('etag')).not.toBe(etag);
    });

    it('a request with a Bearer token is not stored; a listing carries no ETag, a book keeps its version', async () => {
      const book = await createBook(seller.token);
      const detail = `/api/catalog/books/${book.id}`;
      const etag = (await rawGet(detail)).headers.get('etag');
      const signedIn = await rawGet(detail, { authorization: `Bearer ${other.token}` });
      expect(signedIn.status).toBe(200);
      expect(signedIn.headers.get('etag')).toBe(etag);
      expect(signedIn.headers.get('cache-control')).toContain('no-store');
      for (const path of ['/api/catalog/books']) {
        const anonymous = await rawGet(path);
        const etag = anonymous.headers.get('etag');
        expect(etag).toBeTruthy();
        const personal = await rawGet(path, { authorization: `Bearer ${other.token}`, 'if-none-match': etag! });
        expect(personal.status).toBe(200);
        expect(personal.headers.get('etag')).toBeNull();
        expect(personal.headers.get('cache-control')).toContain('no-store');
      }
      const mine = await rawGet('/api/catalog/my-books', { authorization: `Bearer ${seller.token}` });
      expect(mine.status).toBe(200);
      expect(mine.headers.get('etag')).toBeNull();
    });
  });
});
