/**
 * POST /orders refusals: invalid bodies, unknown or deleted books, one's own book, too little stock;
 * a refused order holds no stock and leaves no order. The checks every protected route passes
 * (401, 403 by Origin, malformed JSON, unknown fields, 405) are in orders.security.test.ts.
 * On MariaDB, Redis and the real BullMQ payment and delivery workers running inside the store.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, servicesAvailable, signUp } from '../../test/harness.js';
import {
  CARD_OK,
  card,
  errorPaths,
  nextAddress,
  orderBody,
  usePurchaseStack,
  type Book,
  type User,
} from './purchase.testkit.js';

const ready = await servicesAvailable('modules/purchase/orders.errors.test.ts', ['mysql', 'redis']);

describe.runIf(ready)('POST /orders', () => {
  const stack = usePurchaseStack();
  const { request, seller, createBook, stockOf, order, ordersOf } = stack;

  describe('POST /orders refuses', () => {
    let book: Book;
    let refused: User;
    beforeAll(async () => {
      book = await createBook(seller.token, { stock: 10 });
      refused = await signUp(request, 'Rita Refused', nextAddress());
    });

    const valid = (bookId: number) => orderBody([{ bookId, quantity: 1 }]);
    const cases: [string, (bookId: number) => Record<string, unknown>, string][] = [
      ['no items', (id) => ({ ...valid(id), items: [] }), 'items'],
      ['21 items', (id) => ({ ...valid(id), items: Array.from({ length: 21 }, (_, i) => ({ bookId: id + i, quantity: 1 })) }), 'items'],
      ['quantity 0', (id) => ({ ...valid(id), items: [{ bookId: id, quantity: 0 }] }), 'items.0.quantity'],
      ['quantity 101', (id) => ({ ...valid(id), items: [{ bookId: id, quantity: 101 }] }), 'items.0.quantity'],
      ['quantity 1.5', (id) => ({ ...valid(id), items: [{ bookId: id, quantity: 1.5 }] }), 'items.0.quantity'],
      ['a card number failing Luhn', (id) => ({ ...valid(id), payment: card('4242424242424241') }), 'payment.cardNumber'],
      ['an expired card', (id) => ({ ...valid(id), payment: { ...CARD_OK, expMonth: 1, expYear: 2021 } }), 'payment.expYear'],
      ['an unknown payment method', (id) => ({ ...valid(id), payment: { method: 'cash' } }), 'payment.method'],
      ['a shipping address without city', (id) => ({ ...valid(id), shippingAddress: { name: 'N', line1: 'L', country: 'CO' } }), 'shippingAddress.city'],
      ['a price sent by the client', (id) => ({ ...valid(id), priceCents: 1 }), 'priceCents'],
      ['a unit price sent by the client', (id) => ({ ...valid(id), items: [{ bookId: id, quantity: 1, unitPriceCents: 1 }] }), 'items.0.unitPriceCents'],
      ['the same book twice', (id) => ({ ...valid(id), items: [{ bookId: id, quantity: 1 }, { bookId: id, quantity: 2 }] }), 'items'],
      ['an unknown delivery provider', (id) => ({ ...valid(id), deliveryProviderId: 'pigeon' }), 'deliveryProviderId'],
    ];

    it.each(cases)('%s with 400 validation_failed', async (_label, body, path) => {
      const response = await request('POST', '/api/purchase/orders', { token: refused.token, body: body(book.id) });
      expectProblem(response, 400, 'validation_failed');
      expect(errorPaths(response)).toContain(path);
    });

    it('malformed JSON with 400 malformed_json', async () => {
      const response = await request('POST', '/api/purchase/orders', { token: refused.token, rawBody: '{"items": [', headers: { 'content-type': 'application/json' } });
      expectProblem(response, 400, 'malformed_json');
    });

    it('an anonymous caller with 401', async () => {
      expectProblem(await request('POST', '/api/purchase/orders', { body: valid(book.id) }), 401, 'unauthorized');
    });

    it('unknown books, of any shape, with 404 not_found', async () => {
      expectProblem(await order(refused.token, [{ bookId: 2_000_000_000, quantity: 1 }]), 404, 'not_found');
      expectProblem(await order(refused.token, [{ bookId: 'abc', quantity: 1 }]), 404, 'not_found');
      expectProblem(await order(refused.token, [{ bookId: book.id, quantity: 1 }, { bookId: 'abc', quantity: 1 }]), 404, 'not_found');
    });

    it('a deleted book with 404 not_found', async () => {
      const gone = await createBook(seller.token, { stock: 3 });
      expect((await request('DELETE', `/api/catalog/books/${gone.id}`, { token: seller.token })).status).toBe(204);
      expectProblem(await order(refused.token, [{ bookId: gone.id, quantity: 1 }]), 404, 'not_found');
    });

    it("one's own book with 400 validation_failed, holding nothing", async () => {
      const own = await createBook(refused.token, { stock: 3 });
      const response = await order(refused.token, [{ bookId: own.id, quantity: 1 }]);
      expectProblem(response, 400, 'validation_failed');
      expect(errorPaths(response)).toEqual(['items.0.bookId']);
      expect(await stockOf(own.id)).toBe(3);
    });

    it("one's own book as the second line with 400 at items.1.bookId, the first line keeping all of its stock", async () => {
      const theirs = await createBook(seller.token, { stock: 4 });
      const own = await createBook(refused.token, { stock: 3 });
      const response = await order(refused.token, [{ bookId: theirs.id, quantity: 2 }, { bookId: own.id, quantity: 1 }]);
      expectProblem(response, 400, 'validation_failed');
      expect(errorPaths(response)).toEqual(['items.1.bookId']);
      expect(await stockOf(theirs.id)).toBe(4);
      expect(await stockOf(own.id)).toBe(3);
    });

    it('more than the stock with 409 insufficient_stock, holding nothing', async () => {
      const scarce = await createBook(seller.token, { stock: 2 });
      expectProblem(await order(refused.token, [{ bookId: scarce.id, quantity: 3 }]), 409, 'insufficient_stock');
      expect(await stockOf(scarce.id)).toBe(2);
    });

    it('all or nothing: when the second book lacks stock the first keeps all of its stock', async () => {
      const plenty = await createBook(seller.token, { stock: 5 });
      const scarce = await createBook(seller.token, { stock: 1 });
      expectProblem(await order(refused.token, [{ bookId: plenty.id, quantity: 2 }, { bookId: scarce.id, quantity: 2 }]), 409, 'insufficient_stock');
      expect(await stockOf(plenty.id)).toBe(5);
      expect(await stockOf(scarce.id)).toBe(1);
    });

    it('and none of the refused requests left an order or took stock', async () => {
      const mine = await ordersOf(refused.token);
      expect(mine.body).toMatchObject({ items: [], total: 0 });
      expect(await stockOf(book.id)).toBe(10);
      const [row] = (await stack.db.query('select count(*) as n from purchase_orders where buyer_id = ?', [refused.user.id])) as { n: number }[];
      expect(Number(row!.n)).toBe(0);
    });
  });
});
