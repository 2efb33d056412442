/**
 * The catalog's stock reservation as the purchase module calls it (catalogApi.reserveStock):
 * one reservation per order however often it is asked, refusals in the order of the lines.
 * On MariaDB, Redis and the real BullMQ payment and delivery workers running inside the store.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { servicesAvailable } from '../../test/harness.js';
import { catalogApi } from '../catalog/client.js';
import { usePurchaseStack } from './purchase.testkit.js';

const ready = await servicesAvailable('modules/purchase/catalog-reservation.test.ts', ['mysql', 'redis']);

describe.runIf(ready)('reserving stock for an order', () => {
  const stack = usePurchaseStack();
  const { seller, buyer, createBook, dbStock } = stack;

  describe('the catalog reservation', () => {
    it('answers concurrent calls for one order with one reservation, taking the stock once', async () => {
      const first = await createBook(seller.token, { priceCents: 700, stock: 6 });
      const second = await createBook(seller.token, { priceCents: 900, stock: 6 });
      const request = { orderId: randomUUID(), buyerId: buyer.user.id, items: [{ bookId: second.id, quantity: 2 }, { bookId: first.id, quantity: 1 }] };
      const catalog = catalogApi(stack.store.context.clients);
      const answers = await Promise.all(Array.from({ length: 8 }, () => catalog.reserveStock(request)));
      const expected = [
        { bookId: first.id, title: first.title, unitPriceCents: 700, quantity: 1, sellerId: seller.user.id },
        { bookId: second.id, title: second.title, unitPriceCents: 900, quantity: 2, sellerId: seller.user.id },
      ];
      for (const answer of answers) expect(answer).toEqual({ currency: 'USD', items: expected });
      expect([await dbStock(first.id), await dbStock(second.id)]).toEqual([5, 4]);
      expect(await catalog.reserveStock(request)).toEqual({ currency: 'USD', items: expected });
      expect([await dbStock(first.id), await dbStock(second.id)]).toEqual([5, 4]);
    });

    it('answers a repeated call with the reservation even when the stock it holds is now all gone', async () => {
      const book = await createBook(seller.token, { stock: 2 });
      const request = { orderId: randomUUID(), buyerId: buyer.user.id, items: [{ bookId: book.id, quantity: 2 }] };
      const catalog = catalogApi(stack.store.context.clients);
      const reserved = await catalog.reserveStock(request);
      expect(await dbStock(book.id)).toBe(0);
      expect(await catalog.reserveStock(request)).toEqual(reserved);
      expect(await dbStock(book.id)).toBe(0);
    });

    it('refuses the buyer’s own book, an unknown book and too few copies, in the order of the lines', async () => {
      const theirs = await createBook(seller.token, { stock: 1 });
      const catalog = catalogApi(stack.store.context.clients);
      const refusal = (items: { bookId: number; quantity: number }[]) => catalog.reserveStock({ orderId: randomUUID(), buyerId: seller.user.id, items }).catch((error: unknown) => error);
      expect(await refusal([{ bookId: 2_000_000_000, quantity: 1 }, { bookId: theirs.id, quantity: 1 }])).toMatchObject({ status: 404, code: 'not_found' });
      expect(await refusal([{ bookId: theirs.id, quantity: 5 }, { bookId: 2_000_000_000, quantity: 1 }])).toMatchObject({ status: 400, errors: [{ path: 'items.0.bookId' }] });
      const other = catalogApi(stack.store.context.clients).reserveStock({ orderId: randomUUID(), buyerId: buyer.user.id, items: [{ bookId: theirs.id, quantity: 5 }] });
      await expect(other).rejects.toMatchObject({ status: 409, code: 'insufficient_stock' });
      expect(await dbStock(theirs.id)).toBe(1);
    });
  });
});
