import * as v from 'valibot';
import { Broadcast } from '../../kernel/broadcast.js';
import { defineSettings, type SettingsOf } from '../../kernel/config.js';
import { defineModule, type ModuleContext } from '../../kernel/module.js';
import { CATALOG_OPERATIONS, type CatalogApi } from './client.js';
import { Book, BookWord, Reservation } from './entities.js';
import { migrations } from './migrations/index.js';
import { CatalogChanges, CatalogReadCache } from './read-cache.js';
import { catalogRoutes } from './routes.js';
import { seedDemoCatalog } from './seed.js';
import { booksByIds } from './service.js';
import { releaseStock, reserveStock } from './stock.js';

const CACHE_SIZE = 'must be a whole number of megabytes, 0 to turn the cache off';

const catalogSettings = defineSettings(
  {
    CATALOG_CACHE_MB: v.optional(v.pipe(v.string(), v.regex(/^\d+$/, CACHE_SIZE), v.transform(Number), v.maxValue(4096, 'must be at most 4096')), '16'),
    BOOKSTORE_SEED: v.optional(v.picklist(['demo', ''], 'must be demo or empty')),
  },
  (values) => ({
    /** Memory for catalog answers kept between catalog changes; 0 turns the cache off. */
    cacheBytes: values.CATALOG_CACHE_MB * 1024 * 1024,
    seedDemo: values.BOOKSTORE_SEED === 'demo',
  }),
);

export type CatalogSettings = SettingsOf<typeof catalogSettings>;

/** The catalog in one process: its read cache, shared by its routes, its internal API and its start-up. */
export interface CatalogInstance extends ModuleContext<CatalogSettings> {
  changes: CatalogChanges;
}

function setupCatalog(ctx: ModuleContext<CatalogSettings>): CatalogInstance {
  const broadcast = new Broadcast(ctx.config.redisUrl, ctx.redis, `${ctx.config.redisKeyPrefix}catalog:changed`, ctx.logger);
  return { ...ctx, changes: new CatalogChanges(new CatalogReadCache(ctx.settings.cacheBytes), broadcast) };
}

function catalogInternalApi({ db, changes }: CatalogInstance) {
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
}

export const catalogModule = defineModule({
  name: 'catalog',
  needs: ['auth'],
  description: 'Books for sale: browse, search, detail, and selling one’s own books.',
  entities: [Book, BookWord, Reservation],
  migrations,
  settings: catalogSettings,
  problems: ['insufficient_stock'],
  setup: setupCatalog,
  routes: (catalog) => catalogRoutes(catalog.changes),
  internalApi: catalogInternalApi,
  async start(catalog) {
    const { changes } = catalog;
    changes.listen();
    if (catalog.settings.seedDemo) {
      await seedDemoCatalog(catalog);
      await changes.announce('listing');
    }
    return async () => changes.stop();
  },
});
