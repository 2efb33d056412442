import type { BookstoreModule, ModuleContext } from '../../kernel/module.js';
import { Broadcast } from '../../kernel/broadcast.js';
import { CATALOG_OPERATIONS, type CatalogApi } from './client.js';
import { Book, BookWord, Reservation } from './entities.js';
import { migrations } from './migrations/index.js';
import { CatalogChanges, CatalogReadCache } from './read-cache.js';
import { catalogRoutes } from './routes.js';
import { seedDemoCatalog } from './seed.js';
import { booksByIds } from './service.js';
import { releaseStock, reserveStock } from './stock.js';

const changesByStore = new WeakMap<ModuleContext, CatalogChanges>();

/** One read cache per running store, shared by its routes, its internal API and its start-up. */
function catalogChanges(ctx: ModuleContext): CatalogChanges {
  let changes = changesByStore.get(ctx);
  if (!changes) {
    const broadcast = new Broadcast(ctx.config.redisUrl, ctx.redis, `${ctx.config.redisKeyPrefix}catalog:changed`, ctx.logger);
    changes = new CatalogChanges(new CatalogReadCache(ctx.config.catalogCacheBytes), broadcast);
    changesByStore.set(ctx, changes);
  }
  return changes;
}

export const catalogModule: BookstoreModule = {
  name: 'catalog',
  needs: ['auth'],
  description: 'Books for sale: browse, search, detail, and selling one’s own books.',
  entities: [Book, BookWord, Reservation],
  migrations,
  routes: (ctx) => catalogRoutes(ctx, catalogChanges(ctx)),
  internalApi: (ctx) => {
    const { db } = ctx;
    const changes = catalogChanges(ctx);
    const api: CatalogApi = {
      booksByIds: ({ ids }) => booksByIds(db.em.fork(), ids),
      reserveStock: async (request) => {
        const reserved = await reserveStock(db.em.fork(), request);
        await changes.announce('stock');
        return reserved;
      },
      releaseStock: async ({ orderId }) => {
        const released = await releaseStock(db.em.fork(), orderId);
        if (released.released > 0) await changes.announce('stock');
        return released;
      },
    };
    return { api, operations: CATALOG_OPERATIONS };
  },
  async start(ctx) {
    const changes = catalogChanges(ctx);
    changes.listen();
    if (ctx.config.seedDemo) {
      await seedDemoCatalog(ctx);
      await changes.announce('listing');
    }
    return async () => changes.stop();
  },
};
