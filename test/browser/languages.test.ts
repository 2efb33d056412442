/**
 * The storefront speaks the visitor's language: English by default, Spanish for a browser that asks
 * for it (Accept-Language), prices written the way each language writes them, and a language switch.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { browserAvailable, closeChecked, useBrowserStore } from './browser.testkit.js';
import { follow, heading, link, nav } from './pages.testkit.js';

const ready = await browserAvailable('test/browser/languages.test.ts');

const lang = (page: Page) => page.locator('html').getAttribute('lang');
/** The catalog's entry for the Lighthouse Cartographer (12.50), as the page writes it. */
const priceShown = (page: Page) => page.locator('main article').filter({ hasText: 'The Lighthouse Cartographer' }).innerText();

describe.runIf(ready)('languages', () => {
  const started = useBrowserStore();

  it('is English by default (for a browser that asks for French), with prices as 12.50', async () => {
    const opened = await started().open({ locale: 'fr-FR' });
    const { page } = opened;
    await page.goto('/');
    expect(await lang(page)).toMatch(/^en\b/);
    expect(await heading(page)).toBe('Books');
    await link(nav(page), 'Sign in').waitFor();
    expect(await priceShown(page)).toContain('12.50');
    await closeChecked(opened);
  });

  it('is Spanish for a browser that asks for Spanish, with prices as 12,50', async () => {
    const opened = await started().open({ locale: 'es' });
    const { page } = opened;
    await page.goto('/');
    expect(await lang(page)).toBe('es');
    expect(await heading(page)).toBe('Libros');
    await link(page.getByRole('navigation', { name: 'Principal' }), 'Iniciar sesión').waitFor();
    const price = await priceShown(page);
    expect(price).toContain('12,50');
    expect(price).not.toContain('12.50');
    await closeChecked(opened);
  });

  it('switches language with the language links, and the choice holds on the next page', async () => {
    const opened = await started().open({ locale: 'en-US' });
    const { page } = opened;
    await page.goto('/');
    await follow(page, link(page, 'Español'));
    expect(await lang(page)).toBe('es');
    expect(await heading(page)).toBe('Libros');
    await follow(page, link(page.getByRole('main'), 'The Lighthouse Cartographer'));
    expect(await lang(page)).toBe('es');
    expect(await page.getByRole('main').innerText()).toContain('12,50');
    await follow(page, link(page, 'English'));
    expect(await lang(page)).toMatch(/^en\b/);
    await page.goto('/');
    expect(await heading(page)).toBe('Books');
    await closeChecked(opened);
  });
});
