import { expect, it } from 'vitest';
import { describeOnEachBackend } from '../../test/harness.js';
import { PAGE_CONTENT_SECURITY_POLICY } from './render.js';
import { Visitor, heading, listedBook } from './storefront.testkit.js';

describeOnEachBackend('storefront: catalog and book pages', (stack) => {
  it('the catalog at / is a page with the books, its own policy, and no cache', async () => {
    const { store, request } = stack();
    await listedBook(request, { title: 'Cien años de soledad', author: 'Gabriel García Márquez', priceCents: 1999 });
    const page = await new Visitor(store.url).get('/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toBe(PAGE_CONTENT_SECURITY_POLICY);
    expect(page.headers.get('cache-control')).toBe('private, no-store');
    expect(heading(page)).toBe('Books');
    expect(page.html).toContain('Cien años de soledad');
    expect(page.html).toContain('$19.99');
    expect(page.html).toMatch(/<header[^>]*>[\s\S]*<nav aria-label="Main">[\s\S]*<main/);
  });

  it('every filter lives in the URL, and the pagination links keep them', async () => {
    const { store, request } = stack();
    for (let n = 0; n < 13; n += 1) await listedBook(request, { title: `Paging Volume ${n}`, author: 'Pia Pager', priceCents: 500 + n });
    const visitor = new Visitor(store.url);
    const first = await visitor.get('/?author=Pia+Pager&sort=price_asc');
    expect(first.html).toContain('13 books');
    expect(first.html).toContain('href="/?author=Pia+Pager&amp;sort=price_asc&amp;page=2"');
    expect(first.html.indexOf('Paging Volume 0')).toBeLessThan(first.html.indexOf('Paging Volume 1<'));
    const second = await visitor.get('/?author=Pia+Pager&sort=price_asc&page=2');
    expect(second.html).toContain('Page 2 of 2');
    expect(second.html).toContain('Paging Volume 12');
    const cheap = await visitor.get('/?author=Pia+Pager&max=5.02');
    expect(cheap.html).toContain('3 books');
  });

  it('no results, and a price that is not an amount, are said on the page, never a 500', async () => {
    const { store } = stack();
    const visitor = new Visitor(store.url);
    const none = await visitor.get('/?q=zzqxv');
    expect(none.status).toBe(200);
    expect(none.html).toContain('No books match your search.');
    const bad = await visitor.get('/?min=cheap');
    expect(bad.status).toBe(200);
    expect(bad.html).toMatch(/id="field-min-error">must be an amount/);
    expect(bad.html).toContain('aria-invalid="true"');
  });

  it('a book page shows the book and a Buy form; an unknown book is a 404 page', async () => {
    const { store, request } = stack();
    const id = await listedBook(request, { title: 'Rayuela', author: 'Julio Cortázar', description: 'A novel.\n\nIn chapters.' });
    const visitor = new Visitor(store.url);
    const page = await visitor.get(`/books/${id}`);
    expect(heading(page)).toBe('Rayuela');
    expect(page.html).toContain('3 in stock');
    expect(page.html).toMatch(/<form method="get" action="\/checkout"/);
    expect(page.html).toContain('<p>In chapters.</p>');
    const missing = await visitor.get('/books/99999999');
    expect(missing.status).toBe(404);
    expect(missing.html).toContain('This book is not in the catalog');
    expect((await visitor.get('/books/not-a-number')).status).toBe(404);
  });

  it('Spanish from Accept-Language or the switch, with prices per locale; the switch only goes back to this site', async () => {
    const { store, request } = stack();
    await listedBook(request, { title: 'El túnel', priceCents: 123456 });
    const spanish = await new Visitor(store.url, 'es-CO,es;q=0.9,en;q=0.5').get('/');
    expect(spanish.html).toContain('<html lang="es">');
    expect(heading(spanish)).toBe('Libros');
    expect(spanish.html).toMatch(/US\$\s?1\.234,56/);
    const visitor = new Visitor(store.url, 'en');
    const switched = await visitor.get('/language/es?back=%2F%3Fq%3Dt%C3%BAnel');
    expect(switched.status).toBe(303);
    expect(switched.location).toBe('/?q=t%C3%BAnel');
    expect((await visitor.get('/')).html).toContain('<html lang="es">');
    expect((await visitor.get('/language/en?back=//evil.example/')).location).toBe('/');
    expect((await visitor.get('/language/en?back=https://evil.example/')).location).toBe('/');
  });

  it('the stylesheet and script are served from the store, cacheable for a year, 304 when known', async () => {
    const { store } = stack();
    const page = await new Visitor(store.url).get('/');
    const paths = [...page.html.matchAll(/(?:href|src)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(paths).toHaveLength(2);
    for (const path of paths) {
      const asset = await fetch(`${store.url}${path}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      const again = await fetch(`${store.url}${path}`, { headers: { 'if-none-match': asset.headers.get('etag')! } });
      expect(again.status).toBe(304);
    }
    expect((await fetch(`${store.url}/assets/store.0000.css`)).status).toBe(404);
  });
});
