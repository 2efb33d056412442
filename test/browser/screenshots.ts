/**
 * Screenshots of the storefront for the docs: `npm run screenshots` (needs MariaDB, Redis and
 * Chromium, like the browser tests). Starts the store as the browser tests do, makes a signed-in
 * buyer with a delivered order and a book of their own for sale, and writes docs/screenshots/
 * <page>-desktop.png (1280x800) and <page>-phone.png (375x812) for the catalog, a book, the
 * checkout, the order with its timeline, and the seller's page. Not part of `npm test`.
 */
import { mkdirSync } from 'node:fs';
import { servicesAvailable } from '../harness.js';
import { chromiumPath, launchChromium, openPage } from './browser.testkit.js';
import { signIn } from './pages.testkit.js';
import { createBook, newCustomer, orderThroughApi, startBrowserStore, waitForOrder } from './store.testkit.js';

const OUT = 'docs/screenshots';
const SIZES = {
  desktop: { viewport: { width: 1280, height: 800 }, isMobile: false },
  phone: { viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true },
};

if (!(await servicesAvailable('screenshots', ['mysql', 'redis'])) || !chromiumPath()) {
  console.error('screenshots: needs MariaDB, Redis and chromium (apt-get install chromium, or set CHROMIUM_PATH)');
  process.exit(1);
}
mkdirSync(OUT, { recursive: true });
const store = await startBrowserStore();
const browser = await launchChromium();
try {
  const buyer = await newCustomer(store, 'Bea Buyer');
  await createBook(store.request, buyer.token, { title: 'The Art of Slow Travel', author: 'Bea Buyer', description: 'Read twice, a few notes in pencil.', priceCents: 1150, stock: 1 });
  const book = store.books[0]!;
  const orderId = await orderThroughApi(store, buyer.token, book.id);
  await waitForOrder(store, buyer.token, orderId, 'delivered');
  const pages: [name: string, path: string][] = [
    ['catalog', '/'],
    ['book', `/books/${book.id}`],
    ['checkout', `/checkout?book=${book.id}&quantity=1`],
    ['order', `/orders/${orderId}`],
    ['seller', '/sell'],
  ];
  for (const [size, options] of Object.entries(SIZES)) {
    const { context, page, guards } = await openPage(browser, store.url, options);
    await signIn(page, buyer);
    for (const [name, path] of pages) {
      await page.goto(path, { waitUntil: 'load' });
      const file = `${OUT}/${name}-${size}.png`;
      // The catalog is long: its first screen says enough. The others are shown whole.
      await page.screenshot({ path: file, fullPage: name !== 'catalog' });
      console.log(`wrote ${file}`);
    }
    await context.close();
    const problems = [...guards.pageErrors, ...guards.consoleErrors, ...guards.foreignRequests];
    if (problems.length > 0) console.warn(`screenshots (${size}): the pages reported:\n  ${problems.join('\n  ')}`);
  }
} finally {
  await browser.close();
  await store.close();
}
