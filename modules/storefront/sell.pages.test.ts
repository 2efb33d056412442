import { expect, it } from 'vitest';
import { describeOnEachBackend } from '../../test/harness.js';
import { ADMIN, PURCHASE_ENV } from '../purchase/purchase.testkit.js';
import { Visitor, heading, inputValue, registeredVisitor } from './storefront.testkit.js';

const BOOK = { title: 'Pedro Páramo', author: 'Juan Rulfo', description: 'Comala.', isbn: '', price: '12.50', stock: '2' };

/** Adds a book through the sell page; answers its id. */
async function addBook(seller: Visitor, fields: Record<string, string> = {}): Promise<string> {
  const added = await seller.post('/sell', { ...BOOK, ...fields });
  expect(added.status, added.html.slice(0, 300)).toBe(303);
  expect(added.location).toBe('/sell?done=added');
  const page = await seller.get('/sell?done=added');
  expect(page.html).toContain('Book added.');
  return /href="\/sell\/(\d+)\/edit"/.exec(page.html)![1]!;
}

describeOnEachBackend(
  'storefront: selling, my sales, admin',
  (stack) => {
    it('a seller adds a book; a price that is not an amount is refused next to its field, with the form kept', async () => {
      const { store, request } = stack();
      const seller = await registeredVisitor(store.url, 'Sela Seller');
      const refused = await seller.post('/sell', { ...BOOK, price: 'twelve' });
      expect(refused.status).toBe(400);
      expect(refused.html).toMatch(/id="field-price-error">/);
      expect(refused.html).toContain('value="Pedro Páramo"');
      const id = await addBook(seller);
      const book = await request('GET', `/api/catalog/books/${id}`);
      expect(book.body.book).toMatchObject({ title: 'Pedro Páramo', priceCents: 1250, stock: 2, isbn: null });
    });

    it('editing sends the version it showed (If-Match): a change made meanwhile is shown instead of overwritten', async () => {
      const { store, request } = stack();
      const seller = await registeredVisitor(store.url, 'Edi Editor');
      const id = await addBook(seller);
      const form = await seller.get(`/sell/${id}/edit`);
      expect(heading(form)).toBe('Edit “Pedro Páramo”');
      const version = inputValue(form, 'version')!.replaceAll('&quot;', '"');
      expect(version).toMatch(/^"v\d+"$/);
      const saved = await seller.post(`/sell/${id}/edit`, { ...BOOK, stock: '5', version });
      expect(saved.location).toBe('/sell?done=saved');
      expect((await request('GET', `/api/catalog/books/${id}`)).body.book.stock).toBe(5);
      const stale = await seller.post(`/sell/${id}/edit`, { ...BOOK, stock: '9', version });
      expect(stale.status).toBe(409);
      expect(stale.html).toContain('Someone changed this book meanwhile');
      expect(stale.html).toMatch(/id="field-stock"[^>]*value="5"/);
      expect((await request('GET', `/api/catalog/books/${id}`)).body.book.stock).toBe(5);
    });

    it('only the seller edits or deletes a book; deleting takes it out of the catalog', async () => {
      const { store, request } = stack();
      const seller = await registeredVisitor(store.url, 'Del Seller');
      const id = await addBook(seller);
      const other = await registeredVisitor(store.url, 'Otto Other');
      expect((await other.get(`/sell/${id}/edit`)).status).toBe(403);
      expect((await other.post(`/sell/${id}/delete`, {})).status).toBe(403);
      const deleted = await seller.post(`/sell/${id}/delete`, {});
      expect(deleted.location).toBe('/sell?done=deleted');
      expect((await request('GET', `/api/catalog/books/${id}`)).status).toBe(404);
      expect((await new Visitor(store.url).get('/sell')).location).toBe('/sign-in?back=%2Fsell');
    });

    it('my sales list what buyers ordered; the admin page lists users for administrators only', async () => {
      const { store } = stack();
      const seller = await registeredVisitor(store.url, 'Sue Sales');
      expect((await seller.get('/sales')).html).toContain('Nobody has bought your books yet.');
      expect((await seller.get('/admin')).status).toBe(403);
      const admin = new Visitor(store.url);
      expect((await admin.post('/sign-in', { email: ADMIN.email, password: ADMIN.password })).status).toBe(303);
      const users = await admin.get('/admin');
      expect(heading(users)).toBe('Users');
      expect(users.html).toContain('Sue Sales');
      expect(users.html).toContain('href="/api/purchase/admin/queues"');
    });
  },
  PURCHASE_ENV,
);
