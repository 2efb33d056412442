import { dateFrom } from '../../kernel/database.js';
import type { EntityManager } from '../../kernel/module.js';
import { forbidden, notFound } from '../../kernel/problem.js';
import { Book, BookWord } from './entities.js';
import type { CatalogReadCache } from './read-cache.js';
import type { BookListQuery, BookView, CreateBookInput, Sort, UpdateBookInput } from './schemas.js';
import { searchWords } from './words.js';

export const CURRENCY = 'USD';

/** The columns a book view needs: an entity, or a plain row read without the unit of work. */
type BookRow = Pick<Book, 'id' | 'title' | 'author' | 'description' | 'isbn' | 'priceCents' | 'stock' | 'sellerId' | 'createdAt' | 'updatedAt'>;

export function bookView(book: BookRow): BookView {
  return {
    id: book.id,
    title: book.title,
    author: book.author,
    description: book.description,
    isbn: book.isbn ?? null,
    priceCents: book.priceCents,
    currency: CURRENCY,
    stock: book.stock,
    sellerId: book.sellerId,
    createdAt: book.createdAt.toISOString(),
    updatedAt: book.updatedAt.toISOString(),
  };
}

const ORDER: Record<Sort, string> = {
  newest: 'b.created_at desc, b.id desc',
  price_asc: 'b.price_cents asc, b.id asc',
  price_desc: 'b.price_cents desc, b.id desc',
  title: 'b.title asc, b.id asc',
};

const BOOK_COLUMNS = 'b.id, b.title, b.author, b.description, b.isbn, b.price_cents, b.stock, b.seller_id, b.created_at, b.updated_at';

interface BookRecord {
  id: number;
  title: string;
  author: string;
  description: string;
  isbn: string | null;
  price_cents: number;
  stock: number;
  seller_id: number;
  created_at: Date | string | number;
  updated_at: Date | string | number;
}

function fromRecord(row: BookRecord): BookView {
  return bookView({
    id: row.id,
    title: row.title,
    author: row.author,
    description: row.description,
    isbn: row.isbn,
    priceCents: row.price_cents,
    stock: row.stock,
    sellerId: row.seller_id,
    createdAt: dateFrom(row.created_at),
    updatedAt: dateFrom(row.updated_at),
  });
}

/** Ids arrive as path text; anything that is not a positive integer simply matches no book. */
export function parseBookId(raw: string): number | undefined {
  return /^[1-9]\d{0,9}$/.test(raw) && Number(raw) <= 2_147_483_647 ? Number(raw) : undefined;
}

/** `!` escapes LIKE wildcards on MySQL and SQLite alike (a backslash means different things to each). */
function escapeLike(text: string): string {
  return text.replace(/[!%_]/g, (c) => `!${c}`);
}

/** The WHERE clause of a listing, with its parameters; every clause has an index behind it. */
function listingFilter(query: BookListQuery & { sellerId?: number }) {
  const clauses = ['b.deleted_at is null'];
  const params: unknown[] = [];
  const where = (clause: string, ...values: unknown[]) => {
    clauses.push(clause);
    params.push(...values);
  };
  if (query.sellerId !== undefined) where('b.seller_id = ?', query.sellerId);
  if (query.minPriceCents !== undefined) where('b.price_cents >= ?', query.minPriceCents);
  if (query.maxPriceCents !== undefined) where('b.price_cents <= ?', query.maxPriceCents);
  if (query.inStock === true) where('b.stock > 0');
  if (query.inStock === false) where('b.stock = 0');
  if (query.author) where(`b.author like ? escape '!'`, `%${escapeLike(query.author)}%`);
  for (const word of searchWords(query.q ?? '')) {
    where('b.id in (select w.book_id from catalog_book_words w where w.word like ?)', `${word}%`);
  }
  return { sql: clauses.join(' and '), params };
}

/**
 * A page of listed books and their total. Hand-written SQL, read as plain rows: this is the
 * store's busiest query, and it changes nothing. The page is found by ids alone in a derived
 * table (an index-only scan however deep the page), then joined to its rows.
 */
export async function listBooks(em: EntityManager, cache: CatalogReadCache, query: BookListQuery & { sellerId?: number }) {
  const filter = listingFilter(query);
  const order = ORDER[query.sort];
  const connection = em.getConnection();
  const countListed = async () => {
    const [count] = await connection.execute<{ total: number | string }[]>(`select count(*) as total from catalog_books b where ${filter.sql}`, filter.params);
    return Number(count?.total ?? 0);
  };
  const [rows, total] = await Promise.all([
    connection.execute<BookRecord[]>(
      `select ${BOOK_COLUMNS} from catalog_books b
         join (select b.id from catalog_books b where ${filter.sql} order by ${order} limit ? offset ?) page on page.id = b.id
        order by ${order}`,
      [...filter.params, query.limit, (query.page - 1) * query.limit],
    ),
    cache.total(`${filter.sql} ${JSON.stringify(filter.params)}`, query.inStock !== undefined, countListed),
  ]);
  return { items: rows.map(fromRecord), page: query.page, limit: query.limit, total };
}

/** One listed book, for reading. */
export async function readBook(em: EntityManager, rawId: string): Promise<BookView> {
  const id = parseBookId(rawId);
  const [row] = id === undefined ? [] : await em.getConnection().execute<BookRecord[]>(`select ${BOOK_COLUMNS} from catalog_books b where b.id = ? and b.deleted_at is null`, [id]);
  if (!row) throw notFound('book');
  return fromRecord(row);
}

export async function findBook(em: EntityManager, rawId: string): Promise<Book> {
  const id = parseBookId(rawId);
  const book = id === undefined ? null : await em.findOne(Book, { id, deletedAt: null });
  if (!book) throw notFound('book');
  return book;
}

async function indexWords(em: EntityManager, book: Book) {
  await em.nativeDelete(BookWord, { bookId: book.id });
  const words = searchWords(`${book.title} ${book.author}`);
  if (words.length) await em.insertMany(BookWord, words.map((word) => ({ word, bookId: book.id })));
}

export async function createBook(em: EntityManager, sellerId: number, input: CreateBookInput): Promise<Book> {
  return em.transactional(async (tx) => {
    const book = tx.create(Book, { ...input, description: input.description ?? '', isbn: input.isbn ?? null, sellerId });
    await tx.flush();
    await indexWords(tx, book);
    return book;
  });
}

/** Only the seller may change or remove a listing; everyone else learns it exists but gets 403. */
async function ownBook(em: EntityManager, rawId: string, callerId: number): Promise<Book> {
  const book = await findBook(em, rawId);
  if (book.sellerId !== callerId) throw forbidden('Only the seller of this book may change it.');
  return book;
}

export async function updateBook(em: EntityManager, rawId: string, callerId: number, input: UpdateBookInput): Promise<Book> {
  return em.transactional(async (tx) => {
    const book = await ownBook(tx, rawId, callerId);
    const reindex = (input.title !== undefined && input.title !== book.title) || (input.author !== undefined && input.author !== book.author);
    tx.assign(book, Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined)));
    await tx.flush();
    if (reindex) await indexWords(tx, book);
    return book;
  });
}

export async function deleteBook(em: EntityManager, rawId: string, callerId: number): Promise<void> {
  await em.transactional(async (tx) => {
    const book = await ownBook(tx, rawId, callerId);
    book.deletedAt = new Date();
    await tx.flush();
    await tx.nativeDelete(BookWord, { bookId: book.id });
  });
}

export async function booksByIds(em: EntityManager, ids: number[]): Promise<BookView[]> {
  if (ids.length === 0) return [];
  const books = await em.find(Book, { id: { $in: ids }, deletedAt: null });
  return books.map(bookView);
}
