import { Hono, type Context } from 'hono';
import { setCookie } from 'hono/cookie';
import type { AppEnv } from '../../kernel/app.js';
import { notFound } from '../../kernel/problem.js';
import { LANGUAGES, LANGUAGE_COOKIE, type Language } from './i18n.js';
import { accountRoutes } from './pages/account.js';
import { adminRoutes } from './pages/admin.js';
import { bookPage } from './pages/book.js';
import { catalogPage } from './pages/catalog.js';
import { checkoutRoutes } from './pages/checkout.js';
import { orderRoutes } from './pages/orders.js';
import { sellRoutes } from './pages/sell.js';
import { localPath, visitOf, type Storefront } from './visit.js';

/** Every page of the storefront, and its two assets. */
export function storefrontPages(storefront: Storefront): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  serveAssets(app, storefront);
  app.get('/', async (c) => catalogPage(c, await visitOf(c, storefront)));
  app.get('/books/:id', async (c) => bookPage(c, await visitOf(c, storefront), c.req.param('id')));
  app.get('/language/:language', (c) => chooseLanguage(c, c.req.param('language')));
  accountRoutes(app, storefront);
  checkoutRoutes(app, storefront);
  orderRoutes(app, storefront);
  sellRoutes(app, storefront);
  adminRoutes(app, storefront);
  return app;
}

/** The language switch: remembered for a year, then back to the page it was used on. */
function chooseLanguage(c: Context, language: string): Response {
  if ((LANGUAGES as readonly string[]).includes(language)) {
    setCookie(c, LANGUAGE_COOKIE, language as Language, { path: '/', maxAge: 365 * 24 * 3600, sameSite: 'Lax', httpOnly: true });
  }
  return c.redirect(localPath(c.req.query('back')), 303);
}

function serveAssets(app: Hono<AppEnv>, storefront: Storefront) {
  app.get('/assets/:file', (c) => {
    const asset = storefront.assets.byPath.get(c.req.path);
    if (!asset) throw notFound('asset');
    const headers = { 'Cache-Control': 'public, max-age=31536000, immutable', ETag: asset.etag };
    const known = c.req.header('If-None-Match')?.split(/\s*,\s*/).map((tag) => tag.replace(/^W\//, ''));
    if (known?.includes(asset.etag)) return c.body(null, 304, headers);
    return c.body(asset.body, 200, { ...headers, 'Content-Type': asset.type });
  });
}
