/**
 * End-to-end tests of every catalog route, through the real app on real MariaDB and Redis.
 *
 * The whole file shares one database, so every test tags the books it creates with words of its own
 * (random per run) and narrows its queries with them, which keeps every expectation exact.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiClient,
  createTestDatabase,
  servicesAvailable,
  signUp,
  startTestStore,
  testRedis,
  type ApiRequest,
  type TestDatabase,
  type TestRedis,
  expectProblem,
  startIsolatedStore,
  type IsolatedStore,
} from '../../test/harness.js';
import type { RunningStore } from '../../kernel/store.js';
import { demoBooks } from './demo-data.js';
import { searchWords } from './words.js';

const ready = await servicesAvailable('modules/catalog/catalog.test.ts', ['mysql', 'redis']);

/** What the harness client answers (bodies read loosely, as the harness intends). */
type Reply = Awaited<ReturnType<ApiRequest>>;

const BOOK_FIELDS = ['author', 'createdAt', 'currency', 'description', 'id', 'isbn', 'priceCents', 'sellerId', 'stock', 'title', 'updatedAt'];
const UNKNOWN_ID = '2000000000';

interface Book {
  id: number;
  title: string;
  author: string;
  description: string;
  isbn: string | null;
  priceCents: number;
  currency: string;
  stock: number;
  sellerId: number;
  createdAt: string;
  updatedAt: string;
}

type User = Awaited<ReturnType<typeof signUp>>;

/** A made-up search word, unique to this run: letters and digits only, so it is one search word. */
function word(prefix = 'zq'): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

let addressCounter = 0;
/** A client address of its own for every user, so the per-address registration limit never bites. */
function nextAddress(): string {
  addressCounter += 1;
  return `10.77.${Math.floor(addressCounter / 250)}.${addressCounter % 250}`;
}

function errorPaths(response: Reply): string[] {
  expect(Array.isArray(response.body.errors)).toBe(true);
  return (response.body.errors as { path: string; message: string }[]).map((error) => error.path);
}

function ids(response: Reply): number[] {
  return (response.body.items as Book[]).map((book) => book.id);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(ready)('catalog on MariaDB', () => {
  let db: TestDatabase;
  let store: RunningStore;
  let request: ApiRequest;
  let seller: User;
  let other: User;
  let stack: IsolatedStore;

  beforeAll(async () => {
    stack = await startIsolatedStore();
    ({ db, store, request } = stack);
    seller = await signUp(request, 'Sally Seller', nextAddress());
    other = await signUp(request, 'Otto Other', nextAddress());
  });

  afterAll(() => stack?.close());

  async function createBook(token: string, fields: Partial<Omit<Book, 'id'>> = {}): Promise<Book> {
    const body = { title: `Untitled ${word()}`, author: 'Anonymous Writer', priceCents: 1000, stock: 1, ...fields };
    const response = await request('POST', '/api/catalog/books', { token, body });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body.book as Book;
  }

  async function search(query: string): Promise<Reply> {
    const response = await request('GET', `/api/catalog/books?${query}`);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    return response;
  }

  /** A raw anonymous GET, to see exactly what a 304 carries. */
  async function rawGet(path: string, headers: Record<string, string> = {}) {
    const response = await fetch(`${store.url}${path}`, { headers });
    return { status: response.status, headers: response.headers, text: await response.text() };
  }

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

  describe('GET /api/catalog/books (list)', () => {
    it('defaults to page 1, limit 20, newest first, with the total of listed books', async () => {
      await createBook(seller.token);
      await createBook(other.token);
      const response = await search('');
      const [row] = (await db.query('select count(*) as n from catalog_books where deleted_at is null')) as { n: number | string }[];
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

    describe('q search', () => {
      const tag = word();
      const books: Record<string, Book> = {};
      beforeAll(async () => {
        books.dracula = await createBook(seller.token, { title: `Dracula ${tag}`, author: 'Bram Stoker' });
        books.chronicle = await createBook(seller.token, { title: `Chronicle of a Death Foretold ${tag}`, author: 'Gabriel García Márquez' });
        books.frankenstein = await createBook(other.token, { title: `Frankenstein ${tag}`, author: 'Mary Shelley' });
        books.dragon = await createBook(other.token, { title: `Dragon Rider ${tag}`, author: 'Cornelia Funke' });
      });
      const expectBooks = (response: Reply, ...names: string[]) => {
        expect(new Set(ids(response))).toEqual(new Set(names.map((name) => books[name]!.id)));
        expect(response.body.total).toBe(names.length);
      };
      /** Every hit has a title or author word that starts with `prefix` (ignoring case and accents). */
      const expectAllMatch = (response: Reply, prefix: string) => {
        for (const book of response.body.items as Book[]) {
          expect(searchWords(`${book.title} ${book.author}`).some((w) => w.startsWith(prefix)), `${book.title} / ${book.author}`).toBe(true);
        }
      };

      it('finds books by a whole word', async () => {
        expectBooks(await search(`q=${tag}`), 'dracula', 'chronicle', 'frankenstein', 'dragon');
        const response = await search('q=frankenstein');
        expect(ids(response)).toContain(books.frankenstein!.id);
        expectAllMatch(response, 'frankenstein');
        expectBooks(await search(`q=frankenstein%20${tag}`), 'frankenstein');
      });

      it('finds books by a word prefix', async () => {
        const response = await search('q=dra');
        expect(ids(response)).toEqual(expect.arrayContaining([books.dracula!.id, books.dragon!.id]));
        expectAllMatch(response, 'dra');
        expectBooks(await search(`q=dra%20${tag}`), 'dracula', 'dragon');
        expectBooks(await search(`q=drac%20${tag}`), 'dracula');
        expectBooks(await search(`q=${tag.slice(0, 8)}`), 'dracula', 'chronicle', 'frankenstein', 'dragon');
      });

      it('a prefix must start a word: the middle of a word matches nothing', async () => {
        expectBooks(await search(`q=racula%20${tag}`));
        expectBooks(await search(`q=${tag.slice(2)}`));
      });

      it('ignores case', async () => {
        expectBooks(await search(`q=DRACULA%20${tag.toUpperCase()}`), 'dracula');
        expectBooks(await search(`q=FrAnKeN%20${tag}`), 'frankenstein');
      });

      it('matches author words', async () => {
        expectBooks(await search(`q=stoker%20${tag}`), 'dracula');
        expectBooks(await search(`q=shell%20${tag}`), 'frankenstein');
        const response = await search('q=stoker');
        expect(ids(response)).toContain(books.dracula!.id);
        expectAllMatch(response, 'stoker');
      });

      it('requires every word (AND)', async () => {
        expectBooks(await search(`q=bram%20dracula%20${tag}`), 'dracula');
        expectBooks(await search(`q=bram%20frankenstein%20${tag}`));
        expectBooks(await search(`q=mary%20dracula`));
        expectBooks(await search(`q=${encodeURIComponent(`  Death,  foretold! ${tag} `)}`), 'chronicle');
      });

      it('ignores accents, in the query and in the books', async () => {
        expectBooks(await search(`q=marquez%20${tag}`), 'chronicle');
        expectBooks(await search(`q=garcia%20${tag}`), 'chronicle');
        expectBooks(await search(`q=${encodeURIComponent(`MÁRQUEZ García ${tag}`)}`), 'chronicle');
        const response = await search('q=marquez');
        expect(ids(response)).toContain(books.chronicle!.id);
        expectAllMatch(response, 'marquez');
      });

      it('a word that matches nothing gives total 0', async () => {
        const response = await search(`q=${word('nomatch')}`);
        expect(response.body).toEqual({ items: [], page: 1, limit: 20, total: 0 });
        expectBooks(await search(`q=dracula%20${word('nomatch')}`));
      });

      // Words that differ in JavaScript but that MariaDB's default utf8mb4_general_ci collation holds
      // equal ('ß' = 's', dotless 'ı' = 'i') must not break listing a book.
      it.each([
        ['Maß und Mas', 'Anna Probe'],
        ['Kırmızı Kirmizi', 'Orhan Probe'],
      ])('lists and finds a book titled %s', async (title, author) => {
        const marker = word();
        const response = await request('POST', '/api/catalog/books', {
          token: seller.token,
          body: { title: `${title} ${marker}`, author, priceCents: 800, stock: 1 },
        });
        expect(response.status, JSON.stringify(response.body)).toBe(201);
        expect(ids(await search(`q=${marker}`))).toEqual([response.body.book.id]);
      });

      it('refuses more than 8 words with 400, since every word costs an index scan', async () => {
        const nine = Array.from({ length: 9 }, (_, i) => `w${i}`).join(' ');
        const response = await request('GET', `/api/catalog/books?q=${encodeURIComponent(nine)}`);
        expectProblem(response, 400, 'validation_failed');
        expect(errorPaths(response)).toEqual(['q']);
        expect((await request('GET', `/api/catalog/books?q=${encodeURIComponent(nine.split(' ').slice(1).join(' '))}`)).status).toBe(200);
      });

      it('treats LIKE wildcards in q as plain text', async () => {
        expectBooks(await search(`q=${encodeURIComponent(`%${tag}`)}`), 'dracula', 'chronicle', 'frankenstein', 'dragon');
        expectBooks(await search(`q=${encodeURIComponent(`${tag.slice(0, 4)}_${tag.slice(5)}`)}`));
      });
    });
  });

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
      const sameHostOtherScheme = await request('POST', '/api/catalog/books', { body: body(), headers: { cookie, origin: store.url.replace('http:', 'https:') } });
      expectProblem(sameHostOtherScheme, 403, 'forbidden');
      const mine = await request('GET', '/api/catalog/my-books', { token: user.token });
      expect(mine.body.total).toBe(0);
    });

    it("a cookie-authenticated POST from the store's own origin is accepted", async () => {
      const sent = body();
      const response = await request('POST', '/api/catalog/books', { body: sent, headers: { cookie, origin: store.url } });
      expect(response.status, JSON.stringify(response.body)).toBe(201);
      expect(response.body.book).toMatchObject({ ...sent, sellerId: user.user.id, currency: 'USD' });
    });

    it('cookie PATCH and DELETE follow the same origin rule', async () => {
      const book = await createBook(user.token);
      const path = `/api/catalog/books/${book.id}`;
      expectProblem(await request('PATCH', path, { body: { stock: 0 }, headers: { cookie } }), 403, 'forbidden');
      expectProblem(await request('PATCH', path, { body: { stock: 0 }, headers: { cookie, origin: 'https://evil.example' } }), 403, 'forbidden');
      expect((await request('GET', path)).body.book.stock).toBe(book.stock);
      const patched = await request('PATCH', path, { body: { stock: 0 }, headers: { cookie, origin: store.url } });
      expect(patched.status).toBe(200);
      expect(patched.body.book.stock).toBe(0);
      expectProblem(await request('DELETE', path, { headers: { cookie, origin: 'https://evil.example' } }), 403, 'forbidden');
      expect((await request('DELETE', path, { headers: { cookie, origin: store.url } })).status).toBe(204);
      expect((await request('GET', path)).status).toBe(404);
    });

    it('a cookie-authenticated read needs no Origin', async () => {
      const response = await request('GET', '/api/catalog/my-books', { headers: { cookie } });
      expect(response.status).toBe(200);
      expect(response.body.items.every((b: Book) => b.sellerId === user.user.id)).toBe(true);
    });
  });
});

describe.runIf(ready)('catalog demo seed on MariaDB', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let store: RunningStore | undefined;

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = testRedis();
  });

  afterAll(async () => {
    await store?.close();
    await db?.drop();
    await redis?.drop();
  });

  const start = () => startTestStore({ DATABASE_URL: db.url, REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix, BOOKSTORE_SEED: 'demo' });

  async function allBooks(request: ApiRequest): Promise<Book[]> {
    const books: Book[] = [];
    for (let page = 1; ; page++) {
      const response = await request('GET', `/api/catalog/books?limit=100&page=${page}`);
      expect(response.status).toBe(200);
      books.push(...(response.body.items as Book[]));
      if (books.length >= response.body.total || response.body.items.length === 0) return books;
    }
  }

  it('fills an empty catalog once, with books from several sellers, searchable without accents', async () => {
    store = await start();
    let request = apiClient(store.url);

    const first = await request('GET', '/api/catalog/books');
    expect(first.status).toBe(200);
    const total = first.body.total as number;
    expect(total).toBeGreaterThanOrEqual(200);
    expect(total).toBe(demoBooks.length);

    const books = await allBooks(request);
    expect(books).toHaveLength(total);
    expect(new Set(books.map((b) => b.id)).size).toBe(total);
    expect(new Set(books.map((b) => b.sellerId)).size).toBeGreaterThanOrEqual(5);
    for (const book of books) expect(book.currency).toBe('USD');

    const garcia = await request('GET', '/api/catalog/books?q=garcia&limit=100');
    expect(garcia.status).toBe(200);
    const expected = demoBooks.filter((b) => searchWords(`${b.title} ${b.author}`).some((w) => w.startsWith('garcia')));
    expect(garcia.body.total).toBe(expected.length);
    const authors = (garcia.body.items as Book[]).map((b) => b.author);
    expect(authors).toContain('Gabriel García Márquez');
    expect(new Set((garcia.body.items as Book[]).map((b) => b.title))).toEqual(new Set(expected.map((b) => b.title)));

    const marquez = await request('GET', '/api/catalog/books?q=gabriel%20marquez&limit=100');
    expect(marquez.body.total).toBe(demoBooks.filter((b) => b.author === 'Gabriel García Márquez').length);
    expect((marquez.body.items as Book[]).every((b) => b.author === 'Gabriel García Márquez')).toBe(true);

    await store.close();
    store = undefined;

    store = await start();
    request = apiClient(store.url);
    const again = await request('GET', '/api/catalog/books');
    expect(again.body.total).toBe(total);
    const [row] = (await db.query('select count(*) as n from catalog_books')) as { n: number | string }[];
    expect(Number(row!.n)).toBe(total);
  });
});
