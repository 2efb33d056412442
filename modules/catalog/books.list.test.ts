/**
 * GET /books without q: the defaults, pagination, sorting, the price, stock and author filters, and
 * the query parameters refused with 400. Search by words (q) is in books.search.test.ts.
 * On MariaDB and Redis, one store per file (books.testkit.ts: useCatalogStack).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, servicesAvailable } from '../../test/harness.js';
import { BOOK_FIELDS, errorPaths, ids, useCatalogStack, word, type Book, type Reply } from './books.testkit.js';

const ready = await servicesAvailable('modules/catalog/books.list.test.ts', ['mysql', 'redis']);

describe.runIf(ready)('listing books', () => {
  const stack = useCatalogStack();
  const { request, seller, other, createBook, search } = stack;

  describe('GET /api/catalog/books (list)', () => {
    it('defaults to page 1, limit 20, newest first, with the total of listed books', async () => {
      await createBook(seller.token);
      await createBook(other.token);
      const response = await search('');
      const [row] = (await stack.db.query('select count(*) as n from catalog_books where deleted_at is null')) as { n: number | string }[];
      const total = Number(row!.n);
      expect(response.body).toMatchObject({ page: 1, limit: 20, total });
      expect(response.body.items).toHaveLength(Math.min(20, total));
      const created = (response.body.items as Book[]).map((book) => Date.parse(book.createdAt));
      expect(created).toEqual([...created].sort((a, b) => b - a));
      for (const book of response.body.items as Book[]) expect(Object.keys(book).sort()).toEqual(BOOK_FIELDS);
    });

    describe('pagination', () => {
      const tag = word();
      let created: Book[];
      beforeAll(async () => {
        created = [];
        for (let i = 1; i <= 23; i++) created.push(await createBook(seller.token, { title: `Volume ${i} ${tag}`, priceCents: 100 + i }));
      });

      it('answers 20 items on page 1 and the rest on page 2, with the same total', async () => {
        const first = await search(`q=${tag}`);
        expect(first.body).toMatchObject({ page: 1, limit: 20, total: 23 });
        expect(first.body.items).toHaveLength(20);
        const second = await search(`q=${tag}&page=2`);
        expect(second.body).toMatchObject({ page: 2, limit: 20, total: 23 });
        expect(second.body.items).toHaveLength(3);
        const all = [...ids(first), ...ids(second)];
        expect(new Set(all).size).toBe(23);
        expect(all).toEqual(created.map((book) => book.id).reverse());
      });

      it('honours limit and page', async () => {
        const newestFirst = created.map((book) => book.id).reverse();
        const page1 = await search(`q=${tag}&limit=5`);
        const page3 = await search(`q=${tag}&limit=5&page=3`);
        expect(page1.body).toMatchObject({ page: 1, limit: 5, total: 23 });
        expect(page3.body).toMatchObject({ page: 3, limit: 5, total: 23 });
        expect(ids(page1)).toEqual(newestFirst.slice(0, 5));
        expect(ids(page3)).toEqual(newestFirst.slice(10, 15));
        const last = await search(`q=${tag}&limit=5&page=5`);
        expect(ids(last)).toEqual(newestFirst.slice(20, 23));
        const beyond = await search(`q=${tag}&limit=5&page=6`);
        expect(beyond.body).toMatchObject({ page: 6, limit: 5, total: 23, items: [] });
        const max = await search(`q=${tag}&limit=100`);
        expect(max.body).toMatchObject({ limit: 100, total: 23 });
        expect(max.body.items).toHaveLength(23);
      });
    });

    it.each([
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=-1', 'limit'],
      ['limit=2.5', 'limit'],
      ['page=0', 'page'],
      ['page=-1', 'page'],
      ['page=abc', 'page'],
      ['sort=cheapest', 'sort'],
      ['inStock=maybe', 'inStock'],
      ['minPriceCents=-5', 'minPriceCents'],
      ['minPriceCents=abc', 'minPriceCents'],
      ['maxPriceCents=1.5', 'maxPriceCents'],
      [`q=${'q'.repeat(201)}`, 'q'], // 201 characters
    ])('answers 400 validation_failed for %s', async (query, path) => {
      const response = await request('GET', `/api/catalog/books?${query}`);
      expectProblem(response, 400, 'validation_failed');
      expect(errorPaths(response)).toContain(path);
    });

    describe('sorting', () => {
      const tag = word();
      const books: Record<string, Book> = {};
      beforeAll(async () => {
        books.mango = await createBook(seller.token, { title: `Mango ${tag}`, priceCents: 1500 });
        books.apple = await createBook(other.token, { title: `Apple ${tag}`, priceCents: 700 });
        books.kiwi = await createBook(seller.token, { title: `Kiwi ${tag}`, priceCents: 2500 });
        books.cherry = await createBook(other.token, { title: `Cherry ${tag}`, priceCents: 700 });
      });
      const order = (...names: string[]) => names.map((name) => books[name]!.id);

      it('newest (the default) lists the latest listing first', async () => {
        expect(ids(await search(`q=${tag}`))).toEqual(order('cherry', 'kiwi', 'apple', 'mango'));
        expect(ids(await search(`q=${tag}&sort=newest`))).toEqual(order('cherry', 'kiwi', 'apple', 'mango'));
      });

      it('price_asc lists the cheapest first', async () => {
        const response = await search(`q=${tag}&sort=price_asc`);
        expect(ids(response)).toEqual(order('apple', 'cherry', 'mango', 'kiwi'));
        expect((response.body.items as Book[]).map((b) => b.priceCents)).toEqual([700, 700, 1500, 2500]);
      });

      it('price_desc lists the dearest first', async () => {
        const response = await search(`q=${tag}&sort=price_desc`);
        expect((response.body.items as Book[]).map((b) => b.priceCents)).toEqual([2500, 1500, 700, 700]);
        expect(ids(response).slice(0, 2)).toEqual(order('kiwi', 'mango'));
        expect(new Set(ids(response).slice(2))).toEqual(new Set(order('apple', 'cherry')));
      });

      it('title lists alphabetically', async () => {
        const response = await search(`q=${tag}&sort=title`);
        expect(ids(response)).toEqual(order('apple', 'cherry', 'kiwi', 'mango'));
      });

      it('sorting applies before paging', async () => {
        expect(ids(await search(`q=${tag}&sort=title&limit=2&page=2`))).toEqual(order('kiwi', 'mango'));
        expect(ids(await search(`q=${tag}&sort=price_asc&limit=1&page=4`))).toEqual(order('kiwi'));
      });
    });

    describe('filters', () => {
      const tag = word();
      const books: Record<string, Book> = {};
      beforeAll(async () => {
        books.p500 = await createBook(seller.token, { title: `Invisible Cities ${tag}`, author: 'Italo Calvino', priceCents: 500, stock: 0 });
        books.p1000 = await createBook(seller.token, { title: `Memoirs of Hadrian ${tag}`, author: 'Marguerite Yourcenar', priceCents: 1000, stock: 2 });
        books.p2000 = await createBook(other.token, { title: `Baron in the Trees ${tag}`, author: 'Italo Calvino', priceCents: 2000, stock: 1 });
        books.p4000 = await createBook(other.token, { title: `The Abyss ${tag}`, author: 'Marguerite Yourcenar', priceCents: 4000, stock: 0 });
      });
      const expectBooks = (response: Reply, ...names: string[]) => {
        expect(new Set(ids(response))).toEqual(new Set(names.map((name) => books[name]!.id)));
        expect(response.body.total).toBe(names.length);
      };

      it('minPriceCents keeps books at or above it', async () => {
        expectBooks(await search(`q=${tag}&minPriceCents=1000`), 'p1000', 'p2000', 'p4000');
        expectBooks(await search(`q=${tag}&minPriceCents=1001`), 'p2000', 'p4000');
      });

      it('maxPriceCents keeps books at or below it', async () => {
        expectBooks(await search(`q=${tag}&maxPriceCents=2000`), 'p500', 'p1000', 'p2000');
        expectBooks(await search(`q=${tag}&maxPriceCents=499`));
      });

      it('minPriceCents and maxPriceCents together', async () => {
        expectBooks(await search(`q=${tag}&minPriceCents=1000&maxPriceCents=2000`), 'p1000', 'p2000');
      });

      it('inStock=true keeps books with stock, inStock=false the sold-out ones', async () => {
        expectBooks(await search(`q=${tag}&inStock=true`), 'p1000', 'p2000');
        expectBooks(await search(`q=${tag}&inStock=false`), 'p500', 'p4000');
      });

      it('author keeps books by that author, ignoring case, by part of the name', async () => {
        expectBooks(await search(`q=${tag}&author=Italo%20Calvino`), 'p500', 'p2000');
        expectBooks(await search(`q=${tag}&author=yourcenar`), 'p1000', 'p4000');
        expectBooks(await search(`q=${tag}&author=Tolstoy`));
      });

      it('combines filters', async () => {
        expectBooks(await search(`q=${tag}&author=calvino&inStock=true`), 'p2000');
        expectBooks(await search(`q=${tag}&author=yourcenar&maxPriceCents=3999&sort=price_desc`), 'p1000');
      });

      it('treats LIKE wildcards in the author filter as plain text', async () => {
        const tag2 = word();
        const percent = await createBook(seller.token, { title: `Percent ${tag2}`, author: 'The 50% Club' });
        const underscore = await createBook(seller.token, { title: `Underscore ${tag2}`, author: 'Jim O_Neil' });
        const plain = await createBook(seller.token, { title: `Plain ${tag2}`, author: 'Jim Oneil 5000' });
        expect(ids(await search(`q=${tag2}&author=50%25`))).toEqual([percent.id]);
        expect(ids(await search(`q=${tag2}&author=O_Neil`))).toEqual([underscore.id]);
        expect(ids(await search(`q=${tag2}&author=Oneil`))).toEqual([plain.id]);
        expect((await search(`q=${tag2}&author=5_%25`)).body.total).toBe(0);
        expect((await search(`q=${tag2}&author=%25`)).body.total).toBe(1);
      });

      it('the author filter alone finds books without q', async () => {
        const author = `Author ${word()}`;
        const book = await createBook(seller.token, { author });
        const response = await search(`author=${encodeURIComponent(author)}`);
        expect(ids(response)).toEqual([book.id]);
      });
    });

  });
});
