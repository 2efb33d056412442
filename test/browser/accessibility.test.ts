/**
 * axe-core (WCAG 2.1 A and AA) on every page of the storefront, signed out, signed in and as the
 * administrator: no serious or critical violation. Prints, per page, the violations by impact and the
 * weight of a cold load. Also: the first Tab stop is a link with a visible focus indicator.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { coldLoad, firstTabStop, hasVisibleOutline, kilobytes, printTable, runAxe } from './audit.testkit.js';
import { browserAvailable, closeChecked, useBrowserStore } from './browser.testkit.js';
import { heading, signIn } from './pages.testkit.js';
import { ADMIN, createBook, newCustomer, orderThroughApi, waitForOrder } from './store.testkit.js';

const ready = await browserAvailable('test/browser/accessibility.test.ts');

describe.runIf(ready)('accessibility and weight of every page', () => {
  const started = useBrowserStore();
  const rows: Record<string, string | number>[] = [];

  /** Loads each page cold, runs axe, and records a row; any serious or critical violation fails softly, so every page is checked. */
  async function audit(page: Page, pages: [name: string, path: string][]) {
    for (const [name, path] of pages) {
      const load = await coldLoad(page, path);
      expect.soft(await heading(page), `${name} (${path}) has its h1`).not.toBe('');
      const { counts, lines } = await runAxe(page);
      rows.push({ page: name, path, requests: load.requests, weight: kilobytes(load.bytes), ...counts });
      const blocking = lines.filter((line) => /^\[(critical|serious)\]/.test(line));
      if (lines.length > 0) console.log(`axe on ${name} (${path}):\n  ${lines.join('\n  ')}`);
      expect.soft(blocking, `serious or critical violations on ${name} (${path})`).toEqual([]);
    }
  }

  afterAll(() => printTable('Accessibility (axe-core, WCAG 2.1 A/AA: violations by impact) and cold-load weight per page', rows));

  it('signed out: catalog, no results, book, register, sign in', async () => {
    const { store } = started();
    const opened = await started().open();
    await audit(opened.page, [
      ['catalog', '/'],
      ['catalog, no results', '/?q=zzyzx'],
      ['book', `/books/${store.books[0]!.id}`],
      ['register', '/register'],
      ['sign in', '/sign-in'],
    ]);
    await closeChecked(opened);
  }, 120_000);

  it('signed in: checkout, my orders, order, sell, edit book, my sales', async () => {
    const { store } = started();
    const other = await newCustomer(store, 'Ada Other');
    const theirs = await createBook(store.request, other.token, { title: 'A Field Guide to Small Ponds', author: 'Ada Other', priceCents: 700, stock: 4 });
    const orderId = await orderThroughApi(store, store.seller.token, theirs.id);
    await orderThroughApi(store, other.token, store.books[2]!.id);
    await waitForOrder(store, store.seller.token, orderId, 'delivered');
    const opened = await started().open();
    await signIn(opened.page, store.seller);
    await audit(opened.page, [
      ['checkout', `/checkout?book=${theirs.id}&quantity=1`],
      ['my orders', '/orders'],
      ['order', `/orders/${orderId}`],
      ['sell', '/sell'],
      ['edit book', `/sell/${store.books[0]!.id}/edit`],
      ['my sales', '/sales'],
    ]);
    await closeChecked(opened);
  }, 120_000);

  it('administrator: users', async () => {
    const opened = await started().open();
    await signIn(opened.page, ADMIN);
    await audit(opened.page, [['admin users', '/admin']]);
    expect(await heading(opened.page)).toBe('Users');
    await opened.page.getByRole('link', { name: 'Queue board' }).waitFor();
    await closeChecked(opened);
  }, 60_000);

  it('keyboard: the first Tab stop is a link with a visible focus indicator', async () => {
    const opened = await started().open();
    await opened.page.goto('/');
    const focused = await firstTabStop(opened.page);
    console.log(`first Tab stop: <${focused.tag}> "${focused.text}", outline ${focused.outline}, box-shadow ${focused.boxShadow}`);
    expect(focused.tag).toBe('a');
    expect(hasVisibleOutline(focused.outline) || focused.boxShadow !== 'none', `focus indicator: outline ${focused.outline}, box-shadow ${focused.boxShadow}`).toBe(true);
    await closeChecked(opened);
  });
});
