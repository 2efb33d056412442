import type { EntityManager } from '../../kernel/module.js';
import { Problem, forbidden, notFound } from '../../kernel/problem.js';
import type { SqlRow } from '../../kernel/sql-table.js';
import { MAX_BOOK_ID } from './client.js';
import { Book, BookWord } from './entities.js';
import type { CatalogReadCache } from './read-cache.js';
import { BOOKS, BOOK_WORDS } from './rows.js';
import type { BookListQuery, BookView, CreateBookInput, Sort, UpdateBookInput } from './schemas.js';
import { preconditionFailed, type Precondition } from './versions.js';
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

/** `b.price_cents`: a column of catalog_books as the listing and detail queries alias the table. */
const b = (property: keyof Book & string) => BOOKS.column(property, 'b');

const ORDER: Record<Sort, string> = {
  newest: `${b('createdAt')} desc, ${b('id')} desc`,
  price_asc: `${b('priceCents')} asc, ${b('id')} asc`,
  price_desc: `${b('priceCents')} desc, ${b('id')} desc`,
  title: `${b('title')} asc, ${b('id')} asc`,
};

/** What a book view needs. The benchmark's database ceiling runs the same columns (bench/baselines/catalog-sql.ts). */
const VIEWED = ['id', 'title', 'author', 'description', 'isbn', 'priceCents', 'stock', 'sellerId', 'createdAt', 'updatedAt'] as const;
const BOOK_COLUMNS = BOOKS.list(VIEWED, 'b');
/** A book with the version its ETag names (detail answers and writes; listings do not need it). */
const VERSIONED = [...VIEWED, 'version'] as const;
type VersionedRecord = Pick<Book, (typeof VERSIONED)[number]>;

/** A book as one version of it: the answer, and what its ETag is made from. */
export interface VersionedBook {
  book: BookView;
  version: number;
}

/** Every change a seller may make, with the fields they left out removed. */
type BookChanges = { [Field in keyof UpdateBookInput]?: Exclude<UpdateBookInput[Field], undefined> };

function fromRecord(row: SqlRow): BookView {
  return bookView(BOOKS.fromRow(row, VIEWED));
}

/** Ids arrive as path text; anything that is not a whole number from 1 to MAX_BOOK_ID simply matches no book. */
export function parseBookId(raw: string): number | undefined {
  return /^[1-9]\d{0,9}$/.test(raw) && Number(raw) <= MAX_BOOK_ID ? Number(raw) : undefined;
}

/** `!` escapes LIKE wildcards on MySQL and SQLite alike (a backslash means different things to each). */
function escapeLike(text: string): string {
  return text.replace(/[!%_]/g, (c) => `!${c}`);
}

const WITH_WORD = `${b('id')} in (select ${BOOK_WORDS.column('bookId', 'w')} from ${BOOK_WORDS.name} w where ${BOOK_WORDS.column('word', 'w')} like ?)`;

/** The WHERE clause of a listing, with its parameters; every clause has an index behind it. */
function listingFilter(query: BookListQuery & { sellerId?: number }) {
  const clauses = [`${b('deletedAt')} is null`];
  const params: unknown[] = [];
  const where = (clause: string, ...values: unknown[]) => {
    clauses.push(clause);
    params.push(...values);
  };
  if (query.sellerId !== undefined) where(`${b('sellerId')} = ?`, query.sellerId);
  if (query.minPriceCents !== undefined) where(`${b('priceCents')} >= ?`, query.minPriceCents);
  if (query.maxPriceCents !== undefined) where(`${b('priceCents')} <= ?`, query.maxPriceCents);
  if (query.inStock === true) where(`${b('stock')} > 0`);
  if (query.inStock === false) where(`${b('stock')} = 0`);
  if (query.author) where(`${b('author')} like ? escape '!'`, `%${escapeLike(query.author)}%`);
  for (const word of searchWords(query.q ?? '')) where(WITH_WORD, `${word}%`);
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
    const [count] = await connection.execute<{ total: number | string }[]>(`select count(*) as total from ${BOOKS.name} b where ${filter.sql}`, filter.params);
    return Number(count?.total ?? 0);
  };
  const [rows, total] = await Promise.all([
    connection.execute<SqlRow[]>(
      `select ${BOOK_COLUMNS} from ${BOOKS.name} b
         join (select ${b('id')} from ${BOOKS.name} b where ${filter.sql} order by ${order} limit ? offset ?) page on page.${BOOKS.c.id} = ${b('id')}
        order by ${order}`,
      [...filter.params, query.limit, (query.page - 1) * query.limit],
    ),
    cache.total(`${filter.sql} ${JSON.stringify(filter.params)}`, query.inStock !== undefined, countListed),
  ]);
  return { items: rows.map(fromRecord), page: query.page, limit: query.limit, total };
}

const READ_ONE = `select ${BOOKS.list(VERSIONED, 'b')} from ${BOOKS.name} b where ${b('id')} = ? and ${b('deletedAt')} is null`;

/** One listed book, for reading, with its version (same query, one more column). */
export async function readBook(em: EntityManager, rawId: string): Promise<VersionedBook> {
  const id = parseBookId(rawId);
  const [row] = id === undefined ? [] : await em.getConnection().execute<SqlRow[]>(READ_ONE, [id]);
  if (!row) throw notFound('book');
  const { version, ...book } = BOOKS.fromRow(row, VERSIONED);
  return { book: bookView(book), version };
}

async function indexWords(em: EntityManager, book: Pick<Book, 'id' | 'title' | 'author'>) {
  await em.nativeDelete(BookWord, { bookId: book.id });
  const words = searchWords(`${book.title} ${book.author}`);
  if (words.length) await em.insertMany(BookWord, words.map((word) => ({ word, bookId: book.id })));
}

export async function createBook(em: EntityManager, sellerId: number, input: CreateBookInput): Promise<Book> {
  return em.transactional(async (tx) => {
    const book = tx.create(Book, { ...input, description: input.description ?? '', isbn: input.isbn ?? null, sellerId, version: 1 });
    await tx.flush();
    await indexWords(tx, book);
    return book;
  });
}

/**
 * Only the seller may change or remove a listing; everyone else learns it exists but gets 403.
 * Read as a plain row, never through the unit of work: a write that lost a race reads again, and
 * must see the row as it is now, not as the identity map remembers it.
 */
async function loadOwnBook(tx: EntityManager, rawId: string, callerId: number): Promise<VersionedRecord> {
  const id = parseBookId(rawId);
  const [row] = id === undefined ? [] : await tx.execute<SqlRow[]>(READ_ONE, [id]);
  if (!row) throw notFound('book');
  const book = BOOKS.fromRow(row, VERSIONED);
  if (book.sellerId !== callerId) throw forbidden('Only the seller of this book may change it.');
  return book;
}

/** Writes `changes` only if the book is still at the version read; false when something moved it first. */
async function writeIfUnchanged(tx: EntityManager, book: VersionedRecord, changes: BookChanges & { updatedAt: Date; deletedAt?: Date }): Promise<boolean> {
  const { version } = book;
  const written = await tx.nativeUpdate(Book, { id: book.id, version, deletedAt: null }, { ...changes, version: version + 1 });
  return written === 1;
}

/** Orders take copies in one short statement each; a seller's write that loses to them this often is refused. */
const MAX_WRITE_ATTEMPTS = 10;

/**
 * A seller's change to their book, judged against `If-Match` and written as one step with it: the
 * write is `where version = <the version judged>`, so nothing that happened since (an order taking
 * a copy) is overwritten. A write that lost that race reads the book again and judges `If-Match`
 * again, now against the newer version, which a stale ETag no longer matches (412).
 */
async function changeOwnBook<T>(
  em: EntityManager,
  rawId: string,
  callerId: number,
  precondition: Precondition | undefined,
  change: (tx: EntityManager, book: VersionedRecord) => Promise<T | undefined>,
): Promise<T> {
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
    const done = await em.transactional(async (tx) => {
      const book = await loadOwnBook(tx, rawId, callerId);
      if (precondition && !precondition.matches(book.version)) throw preconditionFailed();
      return change(tx, book);
    });
    if (done !== undefined) return done;
  }
  throw new Problem(503, 'service_unavailable', 'The book kept changing while this change was being saved; try again.', undefined, { 'Retry-After': '1' });
}

const definedFields = (input: UpdateBookInput): BookChanges =>
  Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));

export async function updateBook(em: EntityManager, rawId: string, callerId: number, input: UpdateBookInput, precondition?: Precondition): Promise<VersionedBook> {
  const changes = definedFields(input);
  return changeOwnBook(em, rawId, callerId, precondition, async (tx, book) => {
    const updatedAt = new Date();
    if (!(await writeIfUnchanged(tx, book, { ...changes, updatedAt }))) return undefined;
    const changed = { ...bookView(book), ...changes, updatedAt: updatedAt.toISOString() };
    if (changed.title !== book.title || changed.author !== book.author) await indexWords(tx, changed);
    return { book: changed, version: book.version + 1 };
  });
}

export async function deleteBook(em: EntityManager, rawId: string, callerId: number, precondition?: Precondition): Promise<void> {
  await changeOwnBook(em, rawId, callerId, precondition, async (tx, book) => {
    const now = new Date();
    if (!(await writeIfUnchanged(tx, book, { deletedAt: now, updatedAt: now }))) return undefined;
    await tx.nativeDelete(BookWord, { bookId: book.id });
    return true;
  });
}

export async function booksByIds(em: EntityManager, ids: number[]): Promise<BookView[]> {
  if (ids.length === 0) return [];
  const books = await em.find(Book, { id: { $in: ids }, deletedAt: null });
  return books.map(bookView);
}
