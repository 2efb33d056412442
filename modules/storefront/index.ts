import { defineModule } from '../../kernel/module.js';
import { loadAssets } from './assets.js';
import { storefrontPages } from './pages.js';

/**
 * The web pages people shop and sell with, served from `/`. It owns no tables and no API: every
 * page reads and writes through the public API of the other modules, for the visitor (their
 * cookie, Origin and address), in this process or at the modules' URLs.
 */
export const storefrontModule = defineModule({
  name: 'storefront',
  needs: ['auth', 'catalog', 'purchase'],
  description: 'The storefront: web pages at /',
  setup: async (ctx) => ({ publicApi: ctx.publicApi, assets: await loadAssets() }),
  pages: storefrontPages,
});
