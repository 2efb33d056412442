import type { Services } from '../../kernel/internal.js';
import type { BookView } from './schemas.js';

/** The catalog module's internal API; the only part of the catalog other modules import. */
export interface CatalogApi {
  /** Listed books among `ids`; unknown and deleted ids are left out. */
  booksByIds(input: { ids: number[] }): Promise<BookView[]>;
}

export const CATALOG_OPERATIONS = ['booksByIds'] as const satisfies readonly (keyof CatalogApi)[];

export function catalogApi(services: Services): CatalogApi {
  return services.api<CatalogApi>('catalog', CATALOG_OPERATIONS);
}

export type { BookView };
