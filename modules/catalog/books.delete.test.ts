/**
 * DELETE /books/{id}: only the seller takes a listing out, and then it is gone from every read.
 * On MariaDB and Redis, one store per file (books.testkit.ts: useCatalogStack).
 */
import { describe, expect, it } from 'vitest';
import { expectProblem, servicesAvailable } from '../../test/harness.js';
import { UNKNOWN_ID, ids, useCatalogStack, word, type Book } from './books.testkit.js';

const ready = await servicesAvailable('modules/catalog/books.delete.test.ts', ['mysql', 'redis']);

describe.runIf(ready)('removing a book', () => {
  const { request, seller, other, createBook, search } = useCatalogStack();

  describe('DELETE /api/catalog/books/{id}', () => {
    it('only the seller removes a listing; afterwards it is gone everywhere', async () => {
      const tag = word();
      const book = await createBook(seller.token, { title: `Ephemeral ${tag}`, author: `Vanishing ${tag}x` });

      expectProblem(await request('DELETE', `/api/catalog/books/${book.id}`), 401, 'unauthorized');
      expectProblem(await request('DELETE', `/api/catalog/books/${book.id}`, { token: other.token }), 403, 'forbidden');
      expect((await request('GET', `/api/catalog/books/${book.id}`)).status).toBe(200);

      const removed = await request('DELETE', `/api/catalog/books/${book.id}`, { token: seller.token });
      expect(removed.status).toBe(204);
      expect(removed.body).toBeNull();

      expectProblem(await request('GET', `/api/catalog/books/${book.id}`), 404, 'not_found');
      expect((await search(`q=${tag}`)).body.total).toBe(0);
      expect((await search(`q=ephemeral`)).body.items.map((b: Book) => b.id)).not.toContain(book.id);
      expect((await search(`author=${tag}x`)).body.total).toBe(0);
      const newest = await search('limit=100');
      expect(ids(newest)).not.toContain(book.id);
      const mine = await request('GET', '/api/catalog/my-books?limit=100', { token: seller.token });
      expect(ids(mine)).not.toContain(book.id);

      expectProblem(await request('PATCH', `/api/catalog/books/${book.id}`, { token: seller.token, body: { priceCents: 1 } }), 404, 'not_found');
      expectProblem(await request('DELETE', `/api/catalog/books/${book.id}`, { token: seller.token }), 404, 'not_found');
      expectProblem(await request('DELETE', `/api/catalog/books/${book.id}`, { token: other.token }), 404, 'not_found');
    });

    it.each([UNKNOWN_ID, 'abc', '1.5'])('answers 404 not_found for id %s', async (id) => {
      expectProblem(await request('DELETE', `/api/catalog/books/${id}`, { token: seller.token }), 404, 'not_found');
    });
  });
});
