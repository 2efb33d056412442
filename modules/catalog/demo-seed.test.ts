/**
 * The demo seed (BOOKSTORE_SEED=demo) fills an empty catalog once, with books of several sellers that
 * search finds without accents; a restart adds nothing.
 * On MariaDB and Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningStore } from '../../kernel/store.js';
import { apiClient, createTestDatabase, servicesAvailable, startTestStore, testRedis, type ApiRequest, type TestDatabase, type TestRedis } from '../../test/harness.js';
import type { Book } from './books.testkit.js';
import { demoBooks } from './demo-data.js';
import { searchWords } from './words.js';

const ready = await servicesAvailable('modules/catalog/demo-seed.test.ts', ['mysql', 'redis']);

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
