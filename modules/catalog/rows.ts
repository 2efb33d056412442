import { SqlTable, asDate, asNumber } from '../../kernel/sql-table.js';
import { Book, BookWord, Reservation } from './entities.js';

/*
 * The catalog tables as this module's hand-written SQL names them, each with the one mapping from
 * its rows to the entity's types (README, "Data access"). Column names come from entities.ts.
 * The catalog's list, search and detail SQL is repeated by the benchmark's database ceiling
 * (bench/baselines/catalog-sql.ts), which spells its own: a renamed column is renamed there too.
 */

export const BOOKS = new SqlTable(Book, { id: asNumber, priceCents: asNumber, stock: asNumber, sellerId: asNumber, version: asNumber, createdAt: asDate, updatedAt: asDate, deletedAt: asDate });
export const BOOK_WORDS = new SqlTable(BookWord);
export const RESERVATIONS = new SqlTable(Reservation, { createdAt: asDate, releasedAt: asDate });
