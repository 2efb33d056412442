/**
 * The storefront works with JavaScript off: browse page by page, search, sign in (a wrong password
 * first), update the checkout total, buy with a good card, and see the order's status; a reload
 * later shows it delivered.
 */
import { describe, expect, it } from 'vitest';
import { browserAvailable, closeChecked, forgive, useBrowserStore } from './browser.testkit.js';
import { CARD_OK, field, follow, heading, link, nav, orderStatus, placeOrder, resultTitles, search, timeline } from './pages.testkit.js';
import { newCustomer, waitForOrder } from './store.testkit.js';

const ready = await browserAvailable('test/browser/no-javascript.test.ts');
const STATUSES = ['Reserving stock', 'Pending payment', 'Paid', 'Shipped', 'Delivered'];

describe.runIf(ready)('the storefront without JavaScript', () => {
  const started = useBrowserStore();

  it('browses, searches, signs in, buys, and shows the order delivered after a reload', async () => {
    const { store } = started();
    const customer = await newCustomer(store, 'Nora Noscript');
    const opened = await started().open({ javaScriptEnabled: false });
    const { page } = opened;
    const main = page.getByRole('main');

    await page.goto('/');
    expect(await heading(page)).toBe('Books');
    const firstPage = await resultTitles(page);
    expect(firstPage.length).toBeGreaterThan(1);
    const pagination = page.getByRole('navigation', { name: 'Pagination' });
    await follow(page, link(pagination, 'Next'));
    expect(new URL(page.url()).searchParams.get('page')).toBe('2');
    const secondPage = await resultTitles(page);
    expect(secondPage.length).toBeGreaterThan(0);
    expect(secondPage.filter((title) => firstPage.includes(title))).toEqual([]);
    await link(pagination, 'Previous').waitFor();

    expect(await search(page, 'zzyzx qqq')).toEqual([]);
    expect(await main.innerText()).toContain('No books match your search.');
    expect(await search(page, 'saltwater')).toEqual(['Saltwater Orchards']);

    await follow(page, link(nav(page), 'Sign in'));
    await field(page, 'Email').fill(customer.email);
    await field(page, 'Password').fill('not the password at all');
    await follow(page, main.getByRole('button', { name: 'Sign in' }));
    expect(await page.getByRole('alert').innerText()).toContain('Wrong email or password.');
    forgive(opened.guards, /\/sign-in: Failed to load resource: the server responded with a status of 401\b/);
    await field(page, 'Email').fill(customer.email);
    await field(page, 'Password').fill(customer.password);
    await follow(page, main.getByRole('button', { name: 'Sign in' }));
    await link(nav(page), 'My orders').waitFor();

    const book = store.books[1]!;
    await page.goto(`/books/${book.id}`);
    expect(await heading(page)).toBe(book.title);
    await follow(page, page.getByRole('button', { name: 'Buy' }));
    await page.getByRole('radio', { name: /^Servientrega/ }).check();
    await follow(page, page.getByRole('button', { name: 'Update total' }));
    expect(await main.innerText()).toMatch(/Total[\s\S]*14\.99/); // 8.99 and Servientrega's 6.00

    const orderPath = await placeOrder(page, CARD_OK);
    expect(await heading(page)).toMatch(/^Order/);
    expect(STATUSES).toContain(await orderStatus(page));
    await waitForOrder(store, customer.token, orderPath.split('/').pop()!, 'delivered');
    await page.reload();
    expect(await orderStatus(page)).toBe('Delivered');
    expect((await timeline(page)).some((event) => /\bDelivered\b/.test(event))).toBe(true);

    await follow(page, link(nav(page), 'My orders'));
    expect(await heading(page)).toBe('My orders');
    await link(main, /./).first().waitFor();
    expect(await main.locator(`a[href="${orderPath}"]`).count()).toBe(1);
    await closeChecked(opened);
  }, 120_000);
});
