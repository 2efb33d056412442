import { defineEntity, type InferEntity } from '@mikro-orm/core';

export const Book = defineEntity({
  name: 'Book',
  tableName: 'catalog_books',
  // Every listing filters on `deleted_at is null` and orders by one of these, so each sort has an
  // index that answers "the next page" without sorting, and counts without reading rows.
  indexes: [
    { properties: ['deletedAt', 'createdAt'] },
    { properties: ['deletedAt', 'priceCents'] },
    { properties: ['deletedAt', 'title'] },
    { properties: ['sellerId', 'deletedAt', 'createdAt'] },
  ],
  properties: (p) => ({
    id: p.integer().primary().autoincrement(),
    title: p.string().length(300),
    author: p.string().length(200),
    description: p.text().default(''),
    isbn: p.string().length(17).nullable(),
    priceCents: p.integer(),
    stock: p.integer(),
    /** The seller's user id in the auth module; a plain number, since the auth tables are not ours. */
    sellerId: p.integer(),
    createdAt: p.datetime(3).onCreate(() => new Date()),
    updatedAt: p.datetime(3).onCreate(() => new Date()).onUpdate(() => new Date()),
    /** Deleted books leave the catalog but keep their row, so stock given back to them still lands. */
    deletedAt: p.datetime(3).nullable(),
    /**
     * Moves on every change to the row, stock taken or given back by orders included: the book's
     * ETag, and what a conditional write (`where version = ?`) compares, so a seller's edit made
     * from an old reading is refused instead of overwriting what happened since.
     */
    version: p.integer().default(1),
  }),
});
export type Book = InferEntity<typeof Book>;

/**
 * The search index: one row per distinct word of a book's title and author, lower-cased and without
 * accents. `word LIKE 'prefix%'` on the primary key answers word-or-prefix search from an index on
 * MySQL and SQLite alike.
 */
export const BookWord = defineEntity({
  name: 'BookWord',
  tableName: 'catalog_book_words',
  properties: (p) => ({
    /** utf8mb4_bin on MySQL (see the migration): words are already folded, and `ß` must not equal `s`. */
    word: p.string().length(64).primary(),
    bookId: p.integer().primary().index(),
  }),
});
export type BookWord = InferEntity<typeof BookWord>;

/**
 * Stock held for an order, keyed by the order, so that reserving twice reserves once and releasing
 * twice gives stock back once. It keeps what the book cost when it was reserved.
 */
export const Reservation = defineEntity({
  name: 'Reservation',
  tableName: 'catalog_reservations',
  properties: (p) => ({
    orderId: p.string().length(64).primary(),
    bookId: p.integer().primary(),
    quantity: p.integer(),
    title: p.string().length(300).default(''),
    unitPriceCents: p.integer().default(0),
    sellerId: p.integer().default(0),
    status: p.enum(['held', 'released']).default('held'),
    createdAt: p.datetime(3).onCreate(() => new Date()),
    releasedAt: p.datetime(3).nullable(),
  }),
});
export type Reservation = InferEntity<typeof Reservation>;
