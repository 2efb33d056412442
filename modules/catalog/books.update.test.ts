/**
 * PATCH /books/{id}: the seller changes fields (and search finds the new words); anyone else, an
 * unknown id or an invalid body changes nothing. Body rules in detail: books.patch-body.test.ts.
 * On MariaDB and Redis, one store per file (books.testkit.ts: useCatalogStack).
 */
import { describe, expect, it } from 'vitest';
import { expectProblem, servicesAvailable } from '../../test/harness.js';
import { UNKNOWN_ID, errorPaths, ids, sleep, useCatalogStack, word, type Book } from './books.testkit.js';

const ready = await servicesAvailable('modules/catalog/books.update.test.ts', ['mysql', 'redis']);

describe.runIf(ready)('changing a book', () => {
  const { request, seller, other, createBook, search } = useCatalogStack();

  describe('PATCH /api/catalog/books/{id}', () => {
    it('lets the seller change fields, and moves updatedAt', async () => {
      const book = await createBook(seller.token, { title: `Emma ${word()}`, author: 'Jane Austen', priceCents: 1200, stock: 1 });
      await sleep(15);
      const response = await request('PATCH', `/api/catalog/books/${book.id}`, {
        token: seller.token,
        body: { priceCents: 999, stock: 7, description: 'Foxed pages', isbn: '0-306-40615-2' },
      });
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      const changed = response.body.book as Book;
      expect(changed).toEqual({ ...book, priceCents: 999, stock: 7, description: 'Foxed pages', isbn: '0-306-40615-2', updatedAt: expect.any(String) });
      expect(Date.parse(changed.updatedAt)).toBeGreaterThan(Date.parse(book.updatedAt));
      expect(changed.createdAt).toBe(book.createdAt);
      expect((await request('GET', `/api/catalog/books/${book.id}`)).body).toEqual({ book: changed });
    });

    it('clears an ISBN with null', async () => {
      const book = await createBook(seller.token, { isbn: '978-0-306-40615-7' });
      const response = await request('PATCH', `/api/catalog/books/${book.id}`, { token: seller.token, body: { isbn: null } });
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      expect(response.body.book.isbn).toBeNull();
    });

    it('an empty patch is refused with 400 and changes nothing', async () => {
      const book = await createBook(seller.token);
      const response = await request('PATCH', `/api/catalog/books/${book.id}`, { token: seller.token, body: {} });
      expectProblem(response, 400, 'validation_failed');
      expect((await request('GET', `/api/catalog/books/${book.id}`)).body).toEqual({ book });
    });

    it('answers 403 forbidden to another user and leaves the book unchanged', async () => {
      const book = await createBook(seller.token, { priceCents: 4321 });
      const response = await request('PATCH', `/api/catalog/books/${book.id}`, { token: other.token, body: { priceCents: 1, title: 'Stolen' } });
      expectProblem(response, 403, 'forbidden');
      expect((await request('GET', `/api/catalog/books/${book.id}`)).body).toEqual({ book });
    });

    it.each([UNKNOWN_ID, 'abc', '-1'])('answers 404 not_found for id %s', async (id) => {
      const response = await request('PATCH', `/api/catalog/books/${id}`, { token: seller.token, body: { priceCents: 500 } });
      expectProblem(response, 404, 'not_found');
    });

    it.each([
      ['priceCents 0', { priceCents: 0 }, 'priceCents'],
      ['stock -1', { stock: -1 }, 'stock'],
      ['an empty title', { title: '' }, 'title'],
      ['unknown field sellerId', { sellerId: 1 }, 'sellerId'],
      ['unknown field currency', { currency: 'EUR' }, 'currency'],
    ])('answers 400 validation_failed for %s and changes nothing', async (_name, body, path) => {
      const book = await createBook(seller.token);
      const response = await request('PATCH', `/api/catalog/books/${book.id}`, { token: seller.token, body });
      expectProblem(response, 400, 'validation_failed');
      expect(errorPaths(response)).toContain(path);
      expect((await request('GET', `/api/catalog/books/${book.id}`)).body).toEqual({ book });
    });

    it('answers 400 malformed_json for a broken body', async () => {
      const book = await createBook(seller.token);
      const response = await request('PATCH', `/api/catalog/books/${book.id}`, {
        token: seller.token,
        rawBody: '{"priceCents": ',
        headers: { 'content-type': 'application/json' },
      });
      expectProblem(response, 400, 'malformed_json');
    });

    it('answers 401 unauthorized to an anonymous caller', async () => {
      const book = await createBook(seller.token);
      const response = await request('PATCH', `/api/catalog/books/${book.id}`, { body: { priceCents: 500 } });
      expectProblem(response, 401, 'unauthorized');
      expect((await request('GET', `/api/catalog/books/${book.id}`)).body).toEqual({ book });
    });

    it('re-indexes a changed title and author for search', async () => {
      const oldWord = word('old');
      const newWord = word('new');
      const book = await createBook(seller.token, { title: `Tale of ${oldWord}`, author: 'Plain Author' });
      expect(ids(await search(`q=${oldWord}`))).toEqual([book.id]);

      const response = await request('PATCH', `/api/catalog/books/${book.id}`, { token: seller.token, body: { title: `Tale of ${newWord}` } });
      expect(response.status).toBe(200);
      expect(response.body.book.title).toBe(`Tale of ${newWord}`);
      expect(ids(await search(`q=${newWord}`))).toEqual([book.id]);
      expect((await search(`q=${oldWord}`)).body.total).toBe(0);

      const authorWord = word('auth');
      expect((await request('PATCH', `/api/catalog/books/${book.id}`, { token: seller.token, body: { author: `Someone ${authorWord}` } })).status).toBe(200);
      expect(ids(await search(`q=${authorWord}%20${newWord}`))).toEqual([book.id]);
      expect((await search(`q=plain%20${newWord}`)).body.total).toBe(0);
    });
  });
});
