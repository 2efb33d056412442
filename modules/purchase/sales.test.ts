/**
 * GET /sales: a seller sees the order lines of their own books only, and it is a protected route.
 * On MariaDB, Redis and the real BullMQ payment and delivery workers running inside the store.
 */
import { describe, expect, it } from 'vitest';
import { expectProblem, servicesAvailable, signUp } from '../../test/harness.js';
import { itIsAProtectedRoute } from '../../test/protected-route.js';
import { BANK, ENVIA_COST, nextAddress, usePurchaseStack } from './purchase.testkit.js';

const ready = await servicesAvailable('modules/purchase/sales.test.ts', ['mysql', 'redis']);

describe.runIf(ready)('sales', () => {
  const stack = usePurchaseStack();
  const { request, seller, createBook, placed } = stack;

  describe('GET /sales', () => {
    it('shows a seller the order lines of their books only; 401 anonymous', async () => {
      const [bookSeller, otherSeller, shopper] = await Promise.all([
        signUp(request, 'Vera Vendor', nextAddress()),
        signUp(request, 'Walt Vendor', nextAddress()),
        signUp(request, 'Sheila Shopper', nextAddress()),
      ]);
      const mine = await createBook(bookSeller.token, { priceCents: 1500, stock: 5 });
      const theirs = await createBook(otherSeller.token, { priceCents: 700, stock: 5 });
      const created = await placed(
        shopper.token,
        [
          { bookId: mine.id, quantity: 2 },
          { bookId: theirs.id, quantity: 1 },
        ],
        BANK,
      );
      expect(created).toMatchObject({ subtotalCents: 3700, totalCents: 3700 + ENVIA_COST });
      const sales = await request('GET', '/api/purchase/sales', { token: bookSeller.token });
      expect(sales.status).toBe(200);
      expect(sales.body.total).toBe(1);
      expect(sales.body.items).toEqual([
        {
          orderId: created.id,
          bookId: mine.id,
          title: mine.title,
          unitPriceCents: 1500,
          quantity: 2,
          orderStatus: expect.stringMatching(/^(pending_payment|paid|shipped|delivered)$/),
          currency: 'USD',
          orderedAt: expect.any(String),
        },
      ]);
      const theirSales = await request('GET', '/api/purchase/sales', { token: otherSeller.token });
      expect(theirSales.body.items.map((s: { bookId: number; quantity: number }) => [s.bookId, s.quantity])).toEqual([[theirs.id, 1]]);
      const none = await request('GET', '/api/purchase/sales', { token: shopper.token });
      expect(none.status).toBe(200);
      expect(none.body).toMatchObject({ items: [], total: 0 });
      expectProblem(await request('GET', '/api/purchase/sales'), 401, 'unauthorized');
    });
  });

  itIsAProtectedRoute(() => stack, { method: 'GET', path: '/api/purchase/sales', allow: 'GET, HEAD', session: () => seller.token });
});
