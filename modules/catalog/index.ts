import type { BookstoreModule } from '../../kernel/module.js';
import { CATALOG_OPERATIONS, type CatalogApi } from './client.js';
import { Book, BookWord, Reservation } from './entities.js';
import { migrations } from './migrations/index.js';
import { catalogRoutes } from './routes.js';
import { seedDemoCatalog } from './seed.js';
import { booksByIds } from './service.js';
import { releaseStock, reserveStock } from './stock.js';

export const catalogModule: BookstoreModule = {
  name: 'catalog',
  needs: ['auth'],
  description: 'Books for sale: browse, search, detail, and selling one’s own books.',
  entities: [Book, BookWord, Reservation],
  migrations,
  routes: catalogRoutes,
  internalApi: ({ db }) => {
    const api: CatalogApi = {
      booksByIds: ({ ids }) => booksByIds(db.em.fork(), ids),
      reserveStock: ({ orderId, items }) => reserveStock(db.em.fork(), orderId, items),
      releaseStock: ({ orderId }) => releaseStock(db.em.fork(), orderId),
    };
    return { api, operations: CATALOG_OPERATIONS };
  },
  async start(ctx) {
    if (ctx.config.seedDemo) await seedDemoCatalog(ctx);
  },
};
