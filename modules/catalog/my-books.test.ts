/**
 * GET /my-books: the caller's own listings, newest first, paginated.
 * On MariaDB and Redis, one store per file (books.testkit.ts: useCatalogStack).
 */
import { describe, expect, it } from 'vitest';
import { expectProblem, servicesAvailable, signUp } from '../../test/harness.js';
import { ids, nextAddress, useCatalogStack, word } from './books.testkit.js';

const ready = await servicesAvailable('modules/catalog/my-books.test.ts', ['mysql', 'redis']);

describe.runIf(ready)('my books', () => {
  const { request, createBook } = useCatalogStack();

  describe('GET /api/catalog/my-books', () => {
    it('answers 401 to an anonymous caller', async () => {
      expectProblem(await request('GET', '/api/catalog/my-books'), 401, 'unauthorized');
    });

    it("lists only the caller's books, newest first, with the total", async () => {
      const alice = await signUp(request, 'Alice Mine', nextAddress());
      const bob = await signUp(request, 'Bob Theirs', nextAddress());
      const a1 = await createBook(alice.token, { title: `First ${word()}` });
      const b1 = await createBook(bob.token);
      const a2 = await createBook(alice.token, { title: `Second ${word()}` });
      const a3 = await createBook(alice.token, { title: `Third ${word()}` });

      const response = await request('GET', '/api/catalog/my-books', { token: alice.token });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ items: [a3, a2, a1], page: 1, limit: 20, total: 3 });
      expect(ids(response)).not.toContain(b1.id);

      const theirs = await request('GET', '/api/catalog/my-books', { token: bob.token });
      expect(theirs.body).toEqual({ items: [b1], page: 1, limit: 20, total: 1 });

      const paged = await request('GET', '/api/catalog/my-books?limit=2&page=2', { token: alice.token });
      expect(paged.body).toEqual({ items: [a1], page: 2, limit: 2, total: 3 });

      expectProblem(await request('GET', '/api/catalog/my-books?limit=0', { token: alice.token }), 400, 'validation_failed');
    });

    it('a new seller has no books', async () => {
      const carol = await signUp(request, 'Carol Empty', nextAddress());
      const response = await request('GET', '/api/catalog/my-books', { token: carol.token });
      expect(response.body).toEqual({ items: [], page: 1, limit: 20, total: 0 });
    });
  });
});
