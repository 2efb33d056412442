/**
 * Orders at the documented limits (a book at the catalog's largest price, the largest quantity)
 * hold totals beyond 32 bits; both backends must accept, store and charge them exactly.
 */
import { expect, it } from 'vitest';
import { describeOnEachBackend, signUp } from '../../test/harness.js';
import { ENVIA_COST, FAST_JOBS, MAX_PRICE_CENTS, createBook, nextAddress, orderBody, orderRow, stockOf, waitForStatus, type PlacedOrder } from './orders.testkit.js';

describeOnEachBackend(
  'orders whose totals exceed 32 bits',
  (store) => {
    it.each([100, 22])('a book at the largest price × %i: 201 with exact totals, charged exactly, delivered, stock exact', async (quantity) => {
      const [seller, buyer] = await Promise.all([signUp(store().request, 'Sal Seller', nextAddress()), signUp(store().request, 'Bea Buyer', nextAddress())]);
      const bookId = await createBook(store(), seller.token, MAX_PRICE_CENTS, 150);
      const subtotalCents = MAX_PRICE_CENTS * quantity;
      const totalCents = subtotalCents + ENVIA_COST;

      const response = await store().request('POST', '/api/purchase/orders', { token: buyer.token, body: orderBody(bookId, quantity) });
      expect(response.status, JSON.stringify(response.body)).toBe(201);
      const placed = response.body.order as PlacedOrder;
      expect(placed).toMatchObject({ status: 'pending_payment', subtotalCents, deliveryCostCents: ENVIA_COST, totalCents });
      expect(placed.items).toEqual([expect.objectContaining({ bookId, unitPriceCents: MAX_PRICE_CENTS, quantity })]);
      expect(await stockOf(store(), bookId)).toBe(150 - quantity);

      const delivered = await waitForStatus(store(), buyer.token, placed.id, 'delivered');
      expect(delivered.status).toBe('delivered');
      // Read back through the entities: JSON numbers, not the strings a BIGINT may arrive as.
      expect(typeof delivered.subtotalCents).toBe('number');
      expect(typeof delivered.totalCents).toBe('number');
      expect(delivered).toMatchObject({ subtotalCents, totalCents });
      expect(delivered.events.find((e) => e.status === 'paid')?.detail).toBe(`Payment of ${totalCents} USD captured`);
      expect(await orderRow(store(), placed.id)).toMatchObject({ subtotalCents, totalCents });
      const [charge] = await store().sql<{ amount_cents: number; captures: number }>('select amount_cents, captures from purchase_gateway_charges where order_id = ?', [placed.id]);
      expect({ amountCents: Number(charge!.amount_cents), captures: Number(charge!.captures) }).toEqual({ amountCents: totalCents, captures: 1 });
      expect(await stockOf(store(), bookId)).toBe(150 - quantity);

      const listed = await store().request('GET', '/api/purchase/orders', { token: buyer.token });
      expect(listed.body.items).toEqual([expect.objectContaining({ id: placed.id, subtotalCents, totalCents })]);
    });
  },
  FAST_JOBS,
);
