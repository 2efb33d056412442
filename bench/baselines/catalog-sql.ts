/**
 * The SQL the store's catalog runs (modules/catalog/service.ts: `listBooks` for the default sort,
 * `readBook`), with the same text and parameters: the database ceiling runs exactly these, and every
 * benchmark run compares them with what the store is seen running (bench/sql-check.ts).
 */
// The catalog's own search words: the ceiling must split a query exactly as the store does.
import { searchWords } from '../../modules/catalog/words.js';

export interface Query {
  sql: string;
  params: unknown[];
}

const BOOK_COLUMNS = 'b.id, b.title, b.author, b.description, b.isbn, b.price_cents, b.stock, b.seller_id, b.created_at, b.updated_at';
const NEWEST = 'b.created_at desc, b.id desc';

/** A page of books (ids in a derived table, joined to their rows) and the total, run in parallel. */
export function listQueries(q: string, page: number, limit: number): { page: Query; count: Query } {
  const words = searchWords(q);
  const filter = ['b.deleted_at is null', ...words.map(() => 'b.id in (select w.book_id from catalog_book_words w where w.word like ?)')].join(' and ');
  const params = words.map((word) => `${word}%`);
  return {
    page: {
      sql: `select ${BOOK_COLUMNS} from catalog_books b
         join (select b.id from catalog_books b where ${filter} order by ${NEWEST} limit ? offset ?) page on page.id = b.id
        order by ${NEWEST}`,
      params: [...params, limit, (page - 1) * limit],
    },
    count: { sql: `select count(*) as total from catalog_books b where ${filter}`, params },
  };
}

export function detailQuery(id: number): Query {
  return { sql: `select ${BOOK_COLUMNS}, b.version from catalog_books b where b.id = ? and b.deleted_at is null`, params: [id] };
}
