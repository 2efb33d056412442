import type { InternalClients } from '../../kernel/internal.js';
import type { BookView } from './schemas.js';
import type { ReservedItem, ReservedStock, StockRequest } from './stock.js';

/**
 * The highest book id there can be (docs/api.md: a book id is a whole number from 1 to 2147483647).
 * Any other id names no book: it is answered 404 before a statement carries it.
 */
export const MAX_BOOK_ID = 2_147_483_647;

/** The catalog module's internal API; the only part of the catalog other modules import. */
export interface CatalogApi {
  /** Listed books among `ids`; unknown and deleted ids are left out. */
  booksByIds(input: { ids: number[] }): Promise<BookView[]>;
  /**
   * Holds stock for every line of an order, or answers 404 not_found, 400 validation_failed (one of
   * `buyerId`'s own books, at `items.N.bookId`) or 409 insufficient_stock and holds none, judging
   * the lines in their order. Idempotent by `orderId`. Answers each book's title, price and seller
   * at this moment, and the currency.
   */
  reserveStock(input: StockRequest): Promise<ReservedStock>;
  /** Gives an order's held stock back; a second call gives back nothing. */
  releaseStock(input: { orderId: string }): Promise<{ released: number }>;
}

export const CATALOG_OPERATIONS = ['booksByIds', 'reserveStock', 'releaseStock'] as const satisfies readonly (keyof CatalogApi)[];

export function catalogApi(clients: InternalClients): CatalogApi {
  return clients.api<CatalogApi>('catalog', CATALOG_OPERATIONS);
}

export type { BookView, ReservedItem, ReservedStock, StockRequest };
