/**
 * What a person does on the storefront's pages, written against its page contract: roles and
 * English labels (getByRole / getByLabel), never CSS classes. Not a test file.
 */
import type { Locator, Page } from 'playwright-core';
import { expect } from 'vitest';
import { SHIPPING } from './store.testkit.js';

export const CARD_OK = '4242424242424242';
export const CARD_DECLINED = '4000000000000002';
const EXPIRY_YEAR = String(new Date().getUTCFullYear() + 3);

/** The page's one h1, once it is there. */
export async function heading(page: Page): Promise<string> {
  const h1 = page.locator('main h1');
  await h1.waitFor();
  expect(await page.locator('h1').count(), `one h1 on ${page.url()}`).toBe(1);
  return (await h1.innerText()).trim();
}

export const nav = (page: Page) => page.getByRole('navigation', { name: 'Main' });
export const link = (scope: Page | Locator, name: string | RegExp) => scope.getByRole('link', { name, exact: typeof name === 'string' });
export const field = (scope: Page | Locator, label: string) => scope.getByLabel(label, { exact: true });

/** Fills an input or chooses in a select, whichever the field is. */
export async function setField(scope: Page | Locator, label: string, value: string) {
  const element = field(scope, label);
  if ((await element.and(scope.locator('select')).count()) > 0) await element.selectOption(value);
  else await element.fill(value);
}

/** Clicks a button or link that leads to another page, and waits for that page's load. */
export async function follow(page: Page, target: Locator) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), target.click()]);
}

/** Waits until `read` answers what `done` accepts (polling every 100 ms); answers the last value. */
export async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** What the page says went wrong (its alerts and field errors), for a failure's message. */
export async function complaints(page: Page): Promise<string> {
  const alerts = await page.getByRole('alert').allInnerTexts();
  const fields = await page.evaluate<string[]>(
    `[...document.querySelectorAll('[aria-invalid="true"]')].map((input) => input.name + ': ' + (document.getElementById(input.id + '-error')?.textContent ?? 'invalid'))`,
  );
  return [`${page.url()} (title: ${await page.title()})`, ...alerts, ...fields].join('\n  ');
}

/** The page is now at `path` (its pathname); else the failure says what the page complained about. */
export async function expectAt(page: Page, path: string | RegExp) {
  const here = new URL(page.url()).pathname;
  const matches = typeof path === 'string' ? here === path : path.test(here);
  if (!matches) expect.fail(`expected to be at ${String(path)}, but the page is:\n  ${await complaints(page)}`);
}

export async function register(page: Page, person: { name: string; email: string; password: string }) {
  await page.goto('/register');
  expect(await heading(page)).toBe('Create an account');
  await field(page, 'Name').fill(person.name);
  await field(page, 'Email').fill(person.email);
  await field(page, 'Password').fill(person.password);
  await follow(page, page.getByRole('button', { name: 'Create account' }));
}

export async function signIn(page: Page, person: { email: string; password: string }) {
  await page.goto('/sign-in');
  expect(await heading(page)).toBe('Sign in');
  await field(page, 'Email').fill(person.email);
  await field(page, 'Password').fill(person.password);
  await follow(page, page.getByRole('main').getByRole('button', { name: 'Sign in' }));
}

export async function signOut(page: Page) {
  await follow(page, page.getByRole('banner').getByRole('button', { name: 'Sign out' }));
}

/** Searches from the catalog's search form; answers the result titles. */
export async function search(page: Page, words: string): Promise<string[]> {
  const form = page.getByRole('search');
  await field(form, 'Search').fill(words);
  await follow(page, form.getByRole('button', { name: 'Search' }));
  return resultTitles(page);
}

export const resultTitles = (page: Page) => page.locator('main article').getByRole('heading').allInnerTexts();

/** On /checkout: the delivery, the shipping address and a card, then "Place order"; answers the order page's path. */
export async function placeOrder(page: Page, cardNumber: string, provider = 'Servientrega'): Promise<string> {
  expect(await heading(page)).toBe('Checkout');
  await page.getByRole('radio', { name: new RegExp(`^${provider}`) }).check();
  const address = page.getByRole('group', { name: 'Shipping address' });
  await setField(address, 'Full name', SHIPPING.name);
  await setField(address, 'Address line 1', SHIPPING.line1);
  await setField(address, 'City', SHIPPING.city);
  await setField(address, 'Postal code (optional)', SHIPPING.postalCode);
  await setField(address, 'Country', SHIPPING.country);
  const payment = page.getByRole('group', { name: 'Payment' });
  await payment.getByRole('radio', { name: 'Card', exact: true }).check();
  await setField(payment, 'Card number', cardNumber);
  await setField(payment, 'Expiry month', '12');
  await setField(payment, 'Expiry year', EXPIRY_YEAR);
  await setField(payment, 'CVC', '739');
  await follow(page, page.getByRole('button', { name: 'Place order' }));
  await expectAt(page, /^\/orders\/[^/]+$/);
  return new URL(page.url()).pathname;
}

export const orderStatus = async (page: Page) => (await page.locator('#order-status').innerText()).trim();

/** The order page's timeline, one text per event. */
export const timeline = (page: Page) => page.getByRole('list', { name: 'Timeline' }).getByRole('listitem').allInnerTexts();

/** The book's row (list item, table row or article) on /sell. */
export const ownBook = (page: Page, title: string) => page.locator('main li, main tr, main article').filter({ hasText: title });
