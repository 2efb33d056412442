/**
 * GET /books?q=: words and word prefixes of title and author, ignoring case and accents, every word
 * required, LIKE wildcards as plain text, at most 8 words.
 * On MariaDB and Redis, one store per file (books.testkit.ts: useCatalogStack).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, servicesAvailable } from '../../test/harness.js';
import { errorPaths, ids, useCatalogStack, word, type Book, type Reply } from './books.testkit.js';
import { searchWords } from './words.js';

const ready = await servicesAvailable('modules/catalog/books.search.test.ts', ['mysql', 'redis']);

describe.runIf(ready)('searching books', () => {
  const { request, seller, other, createBook, search } = useCatalogStack();

  describe('GET /api/catalog/books?q=', () => {
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
});
