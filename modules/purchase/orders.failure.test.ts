/**
 * A request that fails after the catalog reserved its stock gives that stock back before it
 * answers. The failure is real: a trigger in the store's own database refuses the confirmation.
 */
import { expect, it } from 'vitest';
import { describeOnEachBackend, expectProblem, signUp } from '../../test/harness.js';
import { purchaseModule } from './index.js';
import { ENVIA_COST, FAST_JOBS, createBook, nextAddress, orderBody, orderRow, refuseConfirmationsOf, stockOf, sweepAttempts, waitForStatus, type PlacedOrder } from './orders.testkit.js';
// The sweeper's pass, run on demand at a chosen time instead of on its timer.
import { sweepOnce, RESERVING_GRACE_MS } from './sweeper.js';

describeOnEachBackend(
  'an order whose confirmation the database refuses',
  (store) => {
    it('answers a problem, cancels the order and gives its stock back at once', async () => {
      const [seller, buyer] = await Promise.all([signUp(store().request, 'Sal Seller', nextAddress()), signUp(store().request, 'Bea Buyer', nextAddress())]);
      const bookId = await createBook(store(), seller.token, 1250, 10);
      const allow = await refuseConfirmationsOf(store(), buyer.user.id);
      let response;
      try {
        response = await store().request('POST', '/api/purchase/orders', { token: buyer.token, body: orderBody(bookId, 3) });
      } finally {
        await allow();
      }
      expectProblem(response, 500, 'internal');
      expect(JSON.stringify(response.body)).not.toContain('trigger');
      expect(await stockOf(store(), bookId)).toBe(10);

      const [row] = await store().sql<{ id: string }>('select id from purchase_orders where buyer_id = ?', [buyer.user.id]);
      expect(await orderRow(store(), row!.id)).toMatchObject({ status: 'cancelled', subtotalCents: 3750, totalCents: 3750 + ENVIA_COST });
      const [reservation] = await store().sql<{ status: string }>('select status from catalog_reservations where order_id = ?', [row!.id]);
      expect(reservation?.status).toBe('released');
      // The buyer sees what the cancelled order was for, and why in our words, not the database's.
      const shown = await store().request('GET', `/api/purchase/orders/${row!.id}`, { token: buyer.token });
      const order = shown.body.order as PlacedOrder;
      expect(order).toMatchObject({ status: 'cancelled', items: [{ bookId, unitPriceCents: 1250, quantity: 3 }], payment: { status: 'voided' } });
      expect(order.events).toEqual([expect.objectContaining({ status: 'cancelled', detail: expect.stringMatching(/^Could not be placed: something went wrong on our side/) })]);

      // Nothing is left for the sweeper, and the stock stays given back once.
      await sweepOnce(store().store.instanceOf(purchaseModule), Date.now() + RESERVING_GRACE_MS + 1000);
      expect(await sweepAttempts(store(), row!.id)).toBe(0);
      expect(await stockOf(store(), bookId)).toBe(10);
    });

    it('places the same buyer’s order normally once the database accepts it again', async () => {
      const [seller, buyer] = await Promise.all([signUp(store().request, 'Sal Seller', nextAddress()), signUp(store().request, 'Bea Buyer', nextAddress())]);
      const bookId = await createBook(store(), seller.token, 900, 4);
      const allow = await refuseConfirmationsOf(store(), buyer.user.id);
      try {
        expect((await store().request('POST', '/api/purchase/orders', { token: buyer.token, body: orderBody(bookId, 4) })).status).toBe(500);
      } finally {
        await allow();
      }
      expect(await stockOf(store(), bookId)).toBe(4);
      const response = await store().request('POST', '/api/purchase/orders', { token: buyer.token, body: orderBody(bookId, 4) });
      expect(response.status, JSON.stringify(response.body)).toBe(201);
      expect(await stockOf(store(), bookId)).toBe(0);
      expect((await waitForStatus(store(), buyer.token, response.body.order.id as string, 'delivered')).status).toBe('delivered');
      expect(await stockOf(store(), bookId)).toBe(0);
    });
  },
  FAST_JOBS,
);
