import type { EntityManager } from '../../kernel/module.js';
import { forbidden, notFound } from '../../kernel/problem.js';
import { Book, BookWord } from './entities.js';
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

const ORDER: Record<Sort, Record<string, 'asc' | 'desc'>> = {
  newest: { createdAt: 'desc', id: 'desc' },
  price_asc: { priceCents: 'asc', id: 'asc' },
  price_desc: { priceCents: 'desc', id: 'desc' },
  title: { title: 'asc', id: 'asc' },
};

/** Ids arrive as path text; anything that is not a positive integer simply matches no book. */
export function parseBookId(raw: string): number | undefined {
  return /^[1-9]\d{0,9}$/.test(raw) && Number(raw) <= 2_147_483_647 ? Number(raw) : undefined;
}

/** `!` escapes LIKE wildcards on MySQL and SQLite alike (a backslash means different things to each). */
function escapeLike(text: string): string {
  return text.replace(/[!%_]/g, (c) => `!${c}`);
}

export async function listBooks(em: EntityManager, query: BookListQuery & { sellerId?: number }) {
  const qb = em.createQueryBuilder(Book, 'b').where({ deletedAt: null });
  if (query.sellerId !== undefined) qb.andWhere({ sellerId: query.sellerId });
  if (query.minPriceCents !== undefined) qb.andWhere({ priceCents: { $gte: query.minPriceCents } });
  if (query.maxPriceCents !== undefined) qb.andWhere({ priceCents: { $lte: query.maxPriceCents } });
  if (query.inStock === true) qb.andWhere({ stock: { $gt: 0 } });
  if (query.inStock === false) qb.andWhere({ stock: 0 });
  if (query.author) qb.andWhere(`b.author like ? escape '!'`, [`%${escapeLike(query.author)}%`]);
  for (const word of searchWords(query.q ?? '')) {
    qb.andWhere(`b.id in (select w.book_id from catalog_book_words w where w.word like ?)`, [`${word}%`]);
  }
  // Deferred join: page through ids alone (an index-only scan), then load just the rows of the page.
  const pageIds = qb
    .clone()
    .select('b.id')
    .orderBy(ORDER[query.sort])
    .limit(query.limit)
    .offset((query.page - 1) * query.limit);
  const [rows, total] = await Promise.all([pageIds.execute<{ id: number }[]>('all'), qb.clone().getCount()]);
  const ids = rows.map((row) => row.id);
  // Read-only rows: no entities to hydrate or track, since nothing here is changed.
  const books = ids.length ? await em.createQueryBuilder(Book, 'b').select('*').where({ id: { $in: ids } }).execute<BookRow[]>('all', true) : [];
  const byId = new Map(books.map((book) => [book.id, book]));
  return { items: ids.flatMap((id) => (byId.has(id) ? [bookView(byId.get(id)!)] : [])), page: query.page, limit: query.limit, total };
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
