/**
 * POST /books: a new listing with the caller as seller, the documented defaults, and every way a
 * body is refused (400 validation_failed naming the field, malformed_json, 401).
 * On MariaDB and Redis, one store per file (books.testkit.ts: useCatalogStack).
 */
import { describe, expect, it } from 'vitest';
import { expectProblem, servicesAvailable } from '../../test/harness.js';
import { BOOK_FIELDS, errorPaths, useCatalogStack, word, type Book } from './books.testkit.js';

const ready = await servicesAvailable('modules/catalog/books.create.test.ts', ['mysql', 'redis']);

describe.runIf(ready)('listing a book', () => {
  const { request, seller, other, createBook, search } = useCatalogStack();

  describe('POST /api/catalog/books', () => {
    it('creates a listing with the caller as seller, in USD, with the documented defaults', async () => {
      const title = `Gulliver's Travels ${word()}`;
      const before = Date.now();
      const response = await request('POST', '/api/catalog/books', {
        token: seller.token,
        body: { title, author: 'Jonathan Swift', priceCents: 1250, stock: 3 },
      });
      expect(response.status).toBe(201);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const book = response.body.book as Book;
      expect(Object.keys(response.body)).toEqual(['book']);
      expect(Object.keys(book).sort()).toEqual(BOOK_FIELDS);
      expect(book).toEqual({
        id: expect.any(Number),
        title,
        author: 'Jonathan Swift',
        description: '',
        isbn: null,
        priceCents: 1250,
        currency: 'USD',
        stock: 3,
        sellerId: seller.user.id,
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
        updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
      });
      expect(Number.isInteger(book.id) && book.id > 0).toBe(true);
      const created = Date.parse(book.createdAt);
      expect(created).toBeGreaterThanOrEqual(before - 2000);
      expect(created).toBeLessThanOrEqual(Date.now() + 2000);
      expect(book.updatedAt).toBe(book.createdAt);

      const fetched = await request('GET', `/api/catalog/books/${book.id}`);
      expect(fetched.status).toBe(200);
      expect(fetched.body).toEqual({ book });
    });

    it('keeps a description and an ISBN when given', async () => {
      const book = await createBook(seller.token, {
        title: `Clean Architecture ${word()}`,
        author: 'Robert Martin',
        description: 'Used – very good, light pencil notes.',
        isbn: '978-0-13-449416-6',
        priceCents: 2999,
        stock: 0,
      });
      expect(book).toMatchObject({ description: 'Used – very good, light pencil notes.', isbn: '978-0-13-449416-6', priceCents: 2999, stock: 0, currency: 'USD' });
    });

    it('answers 401 unauthorized to an anonymous caller', async () => {
      const response = await request('POST', '/api/catalog/books', { body: { title: 'Nope', author: 'Nobody', priceCents: 100, stock: 1 } });
      expectProblem(response, 401, 'unauthorized');
    });

    it('answers 401 to an unknown bearer token', async () => {
      const response = await request('POST', '/api/catalog/books', {
        token: 'not-a-real-token',
        body: { title: 'Nope', author: 'Nobody', priceCents: 100, stock: 1 },
      });
      expectProblem(response, 401, 'unauthorized');
    });

    const valid = { title: 'A Valid Title', author: 'A Valid Author', priceCents: 100, stock: 1 };
    const invalidBodies: [string, Record<string, unknown>, string][] = [
      ['priceCents 0', { ...valid, priceCents: 0 }, 'priceCents'],
      ['priceCents -100', { ...valid, priceCents: -100 }, 'priceCents'],
      ['priceCents 12.5', { ...valid, priceCents: 12.5 }, 'priceCents'],
      ['priceCents as a string', { ...valid, priceCents: '100' }, 'priceCents'],
      ['priceCents missing', { title: valid.title, author: valid.author, stock: 1 }, 'priceCents'],
      ['stock -1', { ...valid, stock: -1 }, 'stock'],
      ['stock 1.5', { ...valid, stock: 1.5 }, 'stock'],
      ['stock missing', { title: valid.title, author: valid.author, priceCents: 100 }, 'stock'],
      ['title missing', { author: valid.author, priceCents: 100, stock: 1 }, 'title'],
      ['title empty', { ...valid, title: '' }, 'title'],
      ['title only spaces', { ...valid, title: '   ' }, 'title'],
      ['title of 301 characters', { ...valid, title: 'x'.repeat(301) }, 'title'],
      ['title a number', { ...valid, title: 42 }, 'title'],
      ['author missing', { title: valid.title, priceCents: 100, stock: 1 }, 'author'],
      ['author of 201 characters', { ...valid, author: 'y'.repeat(201) }, 'author'],
      ['description of 5001 characters', { ...valid, description: 'd'.repeat(5001) }, 'description'],
      ['isbn not an ISBN', { ...valid, isbn: 'not-an-isbn' }, 'isbn'],
      ['unknown field sellerId', { ...valid, sellerId: 1 }, 'sellerId'],
      ['unknown field currency', { ...valid, currency: 'EUR' }, 'currency'],
      ['unknown field id', { ...valid, id: 1 }, 'id'],
    ];
    it.each(invalidBodies)('answers 400 validation_failed for %s', async (_name, body, path) => {
      const response = await request('POST', '/api/catalog/books', { token: seller.token, body });
      expectProblem(response, 400, 'validation_failed');
      expect(errorPaths(response)).toContain(path);
      for (const error of response.body.errors as { message: unknown }[]) expect(typeof error.message).toBe('string');
    });

    it('accepts a title of exactly 300 characters', async () => {
      const title = `${word()} ${'t'.repeat(300 - 13)}`;
      expect(title).toHaveLength(300);
      const book = await createBook(seller.token, { title });
      expect(book.title).toBe(title);
    });

    it('never lets a sellerId be smuggled in: the request is refused and nothing is listed', async () => {
      const marker = word();
      const response = await request('POST', '/api/catalog/books', {
        token: seller.token,
        body: { title: `Smuggled ${marker}`, author: 'Smuggler', priceCents: 500, stock: 1, sellerId: other.user.id },
      });
      expectProblem(response, 400, 'validation_failed');
      expect(errorPaths(response)).toEqual(['sellerId']);
      expect((await search(`q=${marker}`)).body.total).toBe(0);
    });

    it('answers 400 malformed_json for a broken JSON body', async () => {
      const response = await request('POST', '/api/catalog/books', {
        token: seller.token,
        rawBody: '{"title": "Broken", "author": ',
        headers: { 'content-type': 'application/json' },
      });
      expectProblem(response, 400, 'malformed_json');
    });

    it('answers 400 to a JSON body sent as text/plain, and lists nothing', async () => {
      const marker = word();
      const response = await request('POST', '/api/catalog/books', {
        token: seller.token,
        rawBody: JSON.stringify({ title: `Plain ${marker}`, author: 'Texter', priceCents: 500, stock: 1 }),
        headers: { 'content-type': 'text/plain' },
      });
      expectProblem(response, 400, 'malformed_json');
      expect((await search(`q=${marker}`)).body.total).toBe(0);
    });
  });
});
