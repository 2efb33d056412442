/**
 * POST /orders, the happy path: an order by card, PayPal or bank transfer, priced from the catalog,
 * paid, shipped and delivered, each step once; what the order answers and keeps.
 * On MariaDB, Redis and the real BullMQ payment and delivery workers running inside the store.
 */
import { describe, expect, it } from 'vitest';
import { servicesAvailable, signUp } from '../../test/harness.js';
import {
  BANK,
  CARD_OK,
  CVC,
  ENVIA_COST,
  PAYPAL,
  SHIPPING,
  nextAddress,
  orderBody,
  usePurchaseStack,
  type Order,
} from './purchase.testkit.js';

const ready = await servicesAvailable('modules/purchase/orders.happy.test.ts', ['mysql', 'redis']);

describe.runIf(ready)('placing an order', () => {
  const stack = usePurchaseStack();
  const { request, seller, buyer, createBook, stockOf, dbStock, order, placed, readOrder, waitForStatus, ordersOf, eventCounts, charge } = stack;

  describe('the happy path, to delivered', () => {
    it.each([
      ['card', CARD_OK, { method: 'card', brand: 'visa', last4: '4242' }],
      ['paypal', PAYPAL, { method: 'paypal' }],
      ['bank_transfer', BANK, { method: 'bank_transfer' }],
    ])('by %s: catalog prices, payment captured, shipped with tracking, delivered, each step once', async (_label, payment, shown) => {
      const book = await createBook(seller.token, { priceCents: 1250, stock: 5 });
      const response = await order(buyer.token, [{ bookId: book.id, quantity: 2 }], payment);
      expect(response.status, JSON.stringify(response.body)).toBe(201);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const created = response.body.order as Order;
      expect(created).toEqual({
        id: expect.any(String),
        status: 'pending_payment',
        items: [{ bookId: book.id, title: book.title, unitPriceCents: 1250, quantity: 2, sellerId: seller.user.id }],
        subtotalCents: 2500,
        deliveryCostCents: ENVIA_COST,
        totalCents: 2500 + ENVIA_COST,
        currency: 'USD',
        deliveryProvider: { id: 'envia', name: 'Envia' },
        // Checked on its own below ('answers the shipping address as the object that was sent').
        shippingAddress: expect.anything(),
        payment: { ...shown, status: 'pending' },
        events: [{ status: 'pending_payment', at: expect.any(String), detail: expect.any(String) }],
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      expect(book.sellerId).toBe(seller.user.id);
      expect(JSON.stringify(response.body)).not.toContain('4242424242424242');
      expect(await stockOf(book.id)).toBe(3);

      // The card number and cvc are never stored: only a token, the brand and the last 4 digits.
      const [row] = (await stack.db.query('select * from purchase_orders where id = ?', [created.id])) as Record<string, unknown>[];
      expect(row).toBeDefined();
      for (const [column, value] of Object.entries(row!)) {
        const text = value instanceof Date ? value.toISOString() : typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
        expect(text, column).not.toContain('4242424242424242');
        expect(text, column).not.toBe(CVC);
        expect(text, column).not.toMatch(/cvc/i);
      }
      if (shown.method === 'card') expect(row).toMatchObject({ payment_brand: 'visa', payment_last4: '4242' });

      const paid = await waitForStatus(buyer.token, created.id, 'paid');
      expect(paid.payment).toEqual({ ...shown, status: 'captured' });
      const shipped = await waitForStatus(buyer.token, created.id, 'shipped');
      expect(shipped.trackingNumber).toMatch(/^\S{6,40}$/);
      const delivered = await waitForStatus(buyer.token, created.id, 'delivered');
      expect(delivered.status).toBe('delivered');
      expect(delivered.trackingNumber).toBe(shipped.trackingNumber);
      expect(delivered.payment).toEqual({ ...shown, status: 'captured' });
      expect(delivered.events.map((e) => e.status)).toEqual(['pending_payment', 'paid', 'shipped', 'delivered']);
      for (const event of delivered.events) expect(Number.isNaN(Date.parse(event.at))).toBe(false);
      // What was decided at order time does not move.
      const { id, items, subtotalCents, deliveryCostCents, totalCents, currency, deliveryProvider, createdAt } = created;
      expect(delivered).toMatchObject({ id, items, subtotalCents, deliveryCostCents, totalCents, currency, deliveryProvider, createdAt });
      expect(JSON.stringify(delivered)).not.toContain('4242424242424242');

      // Each transition happened once, and the stock stays taken.
      expect(await eventCounts(created.id)).toEqual({ pending_payment: 1, paid: 1, shipped: 1, delivered: 1 });
      expect(await stockOf(book.id)).toBe(3);
      expect(await dbStock(book.id)).toBe(3);
      if (shown.method === 'card') expect(await charge(created.id)).toMatchObject({ status: 'captured', captures: 1 });
    });

    it('answers the shipping address as the object that was sent (POST, GET one, GET list)', async () => {
      const shopper = await signUp(request, 'Addy Address', nextAddress());
      const book = await createBook(seller.token, { stock: 2 });
      const created = await placed(shopper.token, [{ bookId: book.id, quantity: 1 }], BANK);
      expect(created.shippingAddress).toEqual(SHIPPING);
      const withoutOptional = { name: 'Ned', line1: 'Carrera 7', city: 'Cali', country: 'CO' };
      const response = await request('POST', '/api/purchase/orders', {
        token: shopper.token,
        body: { ...orderBody([{ bookId: book.id, quantity: 1 }], BANK), shippingAddress: withoutOptional },
      });
      expect(response.status, JSON.stringify(response.body)).toBe(201);
      expect(response.body.order.shippingAddress).toEqual(withoutOptional);
      expect((await readOrder(shopper.token, created.id)).shippingAddress).toEqual(SHIPPING);
      const listed = (await ordersOf(shopper.token)).body.items as Order[];
      expect(listed.find((o) => o.id === created.id)?.shippingAddress).toEqual(SHIPPING);
    });
  });

  it('keeps the catalog price of order time when the seller changes it later', async () => {
    const book = await createBook(seller.token, { priceCents: 900, stock: 3 });
    const created = await placed(buyer.token, [{ bookId: book.id, quantity: 1 }], BANK);
    const patched = await request('PATCH', `/api/catalog/books/${book.id}`, { token: seller.token, body: { priceCents: 4000, title: 'A new title' } });
    expect(patched.status).toBe(200);
    const later = await readOrder(buyer.token, created.id);
    expect(later.items).toEqual([{ bookId: book.id, title: book.title, unitPriceCents: 900, quantity: 1, sellerId: seller.user.id }]);
    expect(later).toMatchObject({ subtotalCents: 900, totalCents: 900 + ENVIA_COST });
  });
});
