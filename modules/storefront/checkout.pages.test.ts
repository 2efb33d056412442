import { expect, it } from 'vitest';
import { describeOnEachBackend } from '../../test/harness.js';
import { PURCHASE_ENV, eventually } from '../purchase/purchase.testkit.js';
import { heading, inputValue, listedBook, registeredVisitor, type Visitor } from './storefront.testkit.js';

const YEAR = String(new Date().getUTCFullYear() + 2);
const ADDRESS = { addressName: 'Bea Buyer', line1: 'Calle 26 # 13-19', city: 'Bogotá', country: 'Colombia' };
const card = (cardNumber: string) => ({ method: 'card', cardNumber, expMonth: '12', expYear: YEAR, cvc: '123' });

/** Opens the checkout for a book and answers the form's fields as the page made them. */
async function openCheckout(visitor: Visitor, bookId: number, quantity = 1) {
  const page = await visitor.get(`/checkout?book=${bookId}&quantity=${quantity}`);
  expect(page.status).toBe(200);
  return { page, form: { book: String(bookId), key: inputValue(page, 'key')!, quantity: String(quantity), provider: 'envia' } };
}

const statusOn = async (visitor: Visitor, orderPath: string) => /id="order-status"[^>]*>([^<]+)</.exec((await visitor.get(orderPath)).html)?.[1];

describeOnEachBackend(
  'storefront: checkout and orders',
  (stack) => {
    it('the checkout needs a session, shows the total for the quantity and carrier, and explains the test cards', async () => {
      const { store, request } = stack();
      const id = await listedBook(request, { priceCents: 1250, stock: 3 });
      const visitor = await registeredVisitor(store.url);
      const { page } = await openCheckout(visitor, id, 2);
      expect(heading(page)).toBe('Checkout');
      expect(page.html).toContain('4000 0000 0000 0002');
      const updated = await visitor.post('/checkout', { book: String(id), key: 'k', quantity: '9', provider: 'dhl', action: 'update' });
      expect(updated.html).toMatch(/id="field-quantity"[^>]*value="3"[^>]*max="3"/);
      const providers = await request('GET', '/api/purchase/delivery-providers');
      const dhl = (providers.body.items as { id: string; costCents: number }[]).find((p) => p.id === 'dhl')!;
      expect(updated.html).toContain(`data-total="true"><strong>$${((3 * 1250 + dhl.costCents) / 100).toFixed(2)}</strong>`);
      const anonymous = await fetch(`${store.url}/checkout?book=${id}`, { redirect: 'manual' });
      expect(anonymous.status).toBe(302);
      expect(anonymous.headers.get('location')).toBe(`/sign-in?back=${encodeURIComponent(`/checkout?book=${id}`)}`);
    });

    it('placing an order twice with the page\'s key (a double click, a reload) buys once', async () => {
      const { store, request } = stack();
      const id = await listedBook(request, { stock: 5 });
      const visitor = await registeredVisitor(store.url);
      const { form } = await openCheckout(visitor, id);
      const order = { ...form, ...ADDRESS, ...card('4242424242424242'), action: 'place' };
      const [first, second] = await Promise.all([visitor.post('/checkout', order), visitor.post('/checkout', order)]);
      expect(first.status).toBe(303);
      expect(second.location).toBe(first.location);
      expect(first.location).toMatch(/^\/orders\/[0-9a-f-]{36}$/);
      const book = await request('GET', `/api/catalog/books/${id}`);
      expect(book.body.book.stock).toBe(4);
      const delivered = await eventually(() => statusOn(visitor, first.location!), (status) => status === 'Delivered', 10_000);
      expect(delivered).toBe('Delivered');
      expect((await visitor.get('/orders')).html).toContain(`href="${first.location}"`);
    });

    it('a declined card ends in "Payment failed" with a way to try again; refusals show next to their fields', async () => {
      const { store, request } = stack();
      const id = await listedBook(request, { stock: 2 });
      const visitor = await registeredVisitor(store.url);
      const { form } = await openCheckout(visitor, id);
      const invalid = await visitor.post('/checkout', { ...form, ...ADDRESS, city: '', ...card('4242424242424241'), action: 'place' });
      expect(invalid.status).toBe(400);
      expect(invalid.html).toMatch(/id="field-city-error">/);
      expect(invalid.html).toMatch(/id="field-cardNumber-error">[^<]*Luhn/);
      const tooMany = await visitor.post('/checkout', { ...form, key: 'another-key', quantity: '5', ...ADDRESS, method: 'bank_transfer', action: 'place' });
      expect(tooMany.status).toBe(409);
      expect(tooMany.html).toContain('Not enough copies in stock for this quantity.');
      const declined = await visitor.post('/checkout', { ...form, ...ADDRESS, ...card('4000000000000002'), action: 'place' });
      expect(declined.status).toBe(303);
      expect(await eventually(() => statusOn(visitor, declined.location!), (status) => status === 'Payment failed', 10_000)).toBe('Payment failed');
      const failed = await visitor.get(declined.location!);
      expect(failed.html).toMatch(/<div data-when="payment_failed">[\s\S]*href="\/checkout\?book=\d+&amp;quantity=1&amp;provider=envia">Try again</);
    });

    it('the buyer cancels from the order page; another customer cannot see or cancel it', async () => {
      const { store, request } = stack();
      const id = await listedBook(request);
      const buyer = await registeredVisitor(store.url);
      const { form } = await openCheckout(buyer, id);
      const placed = await buyer.post('/checkout', { ...form, ...ADDRESS, method: 'bank_transfer', action: 'place' });
      const stranger = await registeredVisitor(store.url, 'Sid Stranger');
      expect((await stranger.get(placed.location!)).status).toBe(404);
      expect((await stranger.post(`${placed.location!}/cancel`, {})).status).toBe(404);
      const cancelled = await buyer.post(`${placed.location!}/cancel`, {});
      if (cancelled.status === 303) expect(await statusOn(buyer, placed.location!)).toBe('Cancelled');
      else expect(cancelled.html).toContain('role="alert"');
    });
  },
  PURCHASE_ENV,
);
