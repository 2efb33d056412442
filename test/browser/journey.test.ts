/**
 * One person's whole visit, in Chromium with JavaScript: register, search, open a book, pay with a
 * declined card and try again, watch the order reach "Delivered" live (no reload), sell a book and
 * edit it, sign out. Prints how long each step took.
 */
import { describe, expect, it } from 'vitest';
import { uniqueEmail } from '../harness.js';
import { printTable } from './audit.testkit.js';
import { browserAvailable, closeChecked, stopwatch, useBrowserStore } from './browser.testkit.js';
import { CARD_DECLINED, CARD_OK, expectAt, field, follow, heading, link, nav, orderStatus, ownBook, placeOrder, register, search, signOut, timeline, until } from './pages.testkit.js';

const ready = await browserAvailable('test/browser/journey.test.ts');

describe.runIf(ready)('a visit to the storefront', () => {
  const started = useBrowserStore();

  it('registers, buys (declined, then paid and delivered live), sells and edits a book, signs out', async () => {
    const { store } = started();
    const opened = await started().open();
    const { page } = opened;
    const watch = stopwatch();
    const person = { name: 'Jules Journey', email: uniqueEmail('journey'), password: 'a long journey password' };
    const book = store.books[0]!;

    await watch.time('register (signs in)', async () => {
      await register(page, person);
      await expectAt(page, '/');
      await link(nav(page), 'My orders').waitFor();
      expect(await link(nav(page), 'Sign in').count()).toBe(0);
    });

    await watch.time('search', async () => {
      expect(await heading(page)).toBe('Books');
      const titles = await search(page, 'cartographer');
      expect(titles.sort()).toEqual(['The Lighthouse Cartographer', 'The Unmapped Cartographer Returns']);
    });

    await watch.time('open a book', async () => {
      await follow(page, link(page.getByRole('main'), book.title));
      expect(new URL(page.url()).pathname).toBe(`/books/${book.id}`);
      expect(await heading(page)).toBe(book.title);
      expect(await page.getByRole('main').innerText()).toContain('3 in stock');
    });

    await watch.time('checkout, declined card', async () => {
      await field(page, 'Quantity').fill('1');
      await follow(page, page.getByRole('button', { name: 'Buy' }));
      expect(new URL(page.url()).pathname).toBe('/checkout');
      await placeOrder(page, CARD_DECLINED);
      expect(await heading(page)).toMatch(/^Order/);
      expect(await until(() => orderStatus(page), (s) => s === 'Payment failed')).toBe('Payment failed');
      await link(page.getByRole('main'), 'Try again').waitFor({ timeout: 10_000 });
    });

    let statusWhenWatched = '';
    await watch.time('try again, paid card, delivered live', async () => {
      await follow(page, link(page.getByRole('main'), 'Try again'));
      expect(new URL(page.url()).pathname).toBe('/checkout');
      await placeOrder(page, CARD_OK);
      await page.evaluate('window.__marker = 1');
      let navigations = 0;
      page.on('framenavigated', (frame) => {
        if (frame === page.mainFrame()) navigations += 1;
      });
      statusWhenWatched = await orderStatus(page);
      expect(await until(() => orderStatus(page), (s) => s === 'Delivered', 20_000)).toBe('Delivered');
      expect(await page.evaluate('window.__marker'), 'the order page was reloaded').toBe(1);
      expect(navigations, 'the order page navigated').toBe(0);
    });
    expect(statusWhenWatched, 'the order was delivered before the page could watch it').not.toBe('Delivered');
    const events = await timeline(page);
    const at = (label: RegExp) => events.findIndex((text) => label.test(text));
    expect(at(/\bPaid\b/), events.join(' | ')).toBeGreaterThanOrEqual(0);
    expect(at(/\bPaid\b/)).toBeLessThan(at(/\bShipped\b/));
    expect(at(/\bShipped\b/)).toBeLessThan(at(/\bDelivered\b/));
    expect(await page.getByRole('button', { name: 'Cancel order' }).count()).toBe(0);

    const title = `Notes from the Journey ${Date.now()}`;
    await watch.time('sell a book', async () => {
      await follow(page, link(nav(page), 'Sell'));
      expect(await heading(page)).toBe('Sell');
      const form = page.locator('form').filter({ has: page.getByRole('button', { name: 'Add book' }) });
      await field(form, 'Title').fill(title);
      await field(form, 'Author').fill('Jules Journey');
      await field(form, 'Description').fill('Read once, on a train.');
      await field(form, 'ISBN').fill('9780306406157');
      await field(form, 'Price').fill('12.50');
      await field(form, 'Stock').fill('2');
      await follow(page, form.getByRole('button', { name: 'Add book' }));
      await expectAt(page, '/sell');
      await ownBook(page, title).first().waitFor();
    });

    await watch.time('edit the book', async () => {
      await follow(page, link(ownBook(page, title).first(), /^Edit\b/));
      expect(await heading(page)).toMatch(/^Edit/);
      await field(page, 'Price').fill('14.00');
      await follow(page, page.getByRole('button', { name: 'Save changes' }));
      await expectAt(page, '/sell');
      await ownBook(page, title).filter({ hasText: '14.00' }).waitFor();
      const listed = await store.request('GET', `/api/catalog/books?q=${encodeURIComponent('Notes Journey')}`);
      expect(listed.body.items.map((b: { title: string; priceCents: number }) => [b.title, b.priceCents])).toEqual([[title, 1400]]);
    });

    await watch.time('sign out', async () => {
      await signOut(page);
      await link(nav(page), 'Sign in').waitFor();
      expect(await link(nav(page), 'My orders').count()).toBe(0);
    });

    printTable('Journey: time per step (Chromium, MariaDB + Redis, payment 400 ms, shipping 500 ms, transit 500 ms)', [
      ...watch.steps.map(({ step, ms }) => ({ step, ms })),
      { step: 'total', ms: watch.steps.reduce((sum, s) => sum + s.ms, 0) },
    ]);
    await closeChecked(opened);
  }, 120_000);
});
