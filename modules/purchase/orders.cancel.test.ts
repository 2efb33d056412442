/**
 * POST /orders/{id}/cancel: before payment completes, after it (the capture refunded), after
 * shipping (409), and a payment that completes after the cancel. Two stores: one with fast jobs,
 * one whose payment takes a second and shipping a minute, to cancel inside those windows.
 * On MariaDB, Redis and the real BullMQ payment and delivery workers running inside the store.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { expectProblem, servicesAvailable } from '../../test/harness.js';
import {
  BANK,
  CARD_FLAKY,
  CARD_OK,
  eventually,
  sleep,
  usePurchaseStack,
  type Order,
} from './purchase.testkit.js';

const ready = await servicesAvailable('modules/purchase/orders.cancel.test.ts', ['mysql', 'redis']);

describe.runIf(ready)('cancelling', () => {
  const { request, seller, buyer, other, createBook, stockOf, dbStock, placed, readOrder, waitForStatus, eventCounts, charge } = usePurchaseStack();

  describe('cancelling', () => {
    it('before payment completes: 200 cancelled, stock back, nothing captured; twice → 409; others → 404', async () => {
      const book = await createBook(seller.token, { stock: 4 });
      // This card's first two attempts fail transiently, so the payment stays pending for about a second.
      const created = await placed(buyer.token, [{ bookId: book.id, quantity: 2 }], CARD_FLAKY);
      expect(await stockOf(book.id)).toBe(2);
      expectProblem(await request('POST', `/api/purchase/orders/${created.id}/cancel`, { token: other.token }), 404, 'not_found');
      expectProblem(await request('POST', `/api/purchase/orders/${created.id}/cancel`), 401, 'unauthorized');
      const cancelled = await request('POST', `/api/purchase/orders/${created.id}/cancel`, { token: buyer.token });
      expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
      expect(cancelled.body.order).toMatchObject({ id: created.id, status: 'cancelled' });
      expect((cancelled.body.order as Order).events.filter((e) => e.status === 'cancelled')).toHaveLength(1);
      expect(await eventually(() => stockOf(book.id), (s) => s === 4)).toBe(4);
      expectProblem(await request('POST', `/api/purchase/orders/${created.id}/cancel`, { token: buyer.token }), 409, 'invalid_state');

      // Let the payment job's retries run out: they must find the order cancelled and charge nothing.
      await sleep(1500);
      const later = await readOrder(buyer.token, created.id);
      expect(later.status).toBe('cancelled');
      expect(later.payment.status).toBe('voided');
      expect(later.events.map((e) => e.status)).toEqual(['pending_payment', 'cancelled']);
      expect((await charge(created.id))?.captures ?? 0).toBe(0);
      expect(await dbStock(book.id)).toBe(4);
      expect(await eventCounts(created.id)).toEqual({ pending_payment: 1, cancelled: 1 });
    });

    it('after shipping: 409 invalid_state and the stock stays taken', async () => {
      const book = await createBook(seller.token, { stock: 3 });
      const created = await placed(buyer.token, [{ bookId: book.id, quantity: 1 }], BANK);
      const shipped = await waitForStatus(buyer.token, created.id, 'shipped');
      expect(['shipped', 'delivered']).toContain(shipped.status);
      expectProblem(await request('POST', `/api/purchase/orders/${created.id}/cancel`, { token: buyer.token }), 409, 'invalid_state');
      const delivered = await waitForStatus(buyer.token, created.id, 'delivered');
      expect(delivered.events.map((e) => e.status)).toEqual(['pending_payment', 'paid', 'shipped', 'delivered']);
      expectProblem(await request('POST', `/api/purchase/orders/${created.id}/cancel`, { token: buyer.token }), 409, 'invalid_state');
      expect(await stockOf(book.id)).toBe(2);
      expect((await readOrder(buyer.token, created.id)).payment.status).toBe('captured');
    });

    it('of an unknown order: 404', async () => {
      expectProblem(await request('POST', `/api/purchase/orders/${randomUUID()}/cancel`, { token: buyer.token }), 404, 'not_found');
    });
  });
});

describe.runIf(ready)('cancelling while paying or paid (payment takes 1 s, shipping a minute)', () => {
  const { request, seller, buyer, other, createBook, stockOf, dbStock, placed, readOrder, waitForStatus, eventCounts, charge } = usePurchaseStack(
    {
      // Half of the payment latency passes before the gateway captures and half after: a 1 s window.
      PAYMENT_DELAY_MS: '1000',
      DELIVERY_SHIP_DELAY_MS: '60000',
      DELIVERY_TRANSIT_DELAY_MS: '150',
    },
    ['Sid Seller', 'Bo Buyer', 'Ola Other'],
  );

  it('answers 200 cancelled, gives the stock back and refunds the one capture; twice → 409', async () => {
    const book = await createBook(seller.token, { stock: 3, priceCents: 2000 });
    const created = await placed(buyer.token, [{ bookId: book.id, quantity: 2 }], CARD_OK);
    const paid = await waitForStatus(buyer.token, created.id, 'paid');
    expect(paid.status).toBe('paid');
    expect(paid.payment.status).toBe('captured');
    expect(await stockOf(book.id)).toBe(1);

    expectProblem(await request('POST', `/api/purchase/orders/${created.id}/cancel`, { token: other.token }), 404, 'not_found');
    expect((await readOrder(buyer.token, created.id)).status).toBe('paid');

    const cancelled = await request('POST', `/api/purchase/orders/${created.id}/cancel`, { token: buyer.token });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body.order).toMatchObject({ id: created.id, status: 'cancelled' });
    expect(await eventually(() => stockOf(book.id), (s) => s === 3)).toBe(3);
    const refunded = await eventually(
      () => readOrder(buyer.token, created.id),
      (o) => o.payment.status === 'refunded',
    );
    expect(refunded.payment).toEqual({ method: 'card', status: 'refunded', brand: 'visa', last4: '4242' });
    expect(refunded.events.map((e) => e.status)).toEqual(['pending_payment', 'paid', 'cancelled']);
    expect(await charge(created.id)).toMatchObject({ status: 'refunded', captures: 1 });

    expectProblem(await request('POST', `/api/purchase/orders/${created.id}/cancel`, { token: buyer.token }), 409, 'invalid_state');
    await sleep(300); // the queued compensation job runs too, and must change nothing
    expect(await dbStock(book.id)).toBe(3);
    expect(await eventCounts(created.id)).toEqual({ pending_payment: 1, paid: 1, cancelled: 1 });
    expect(await charge(created.id)).toMatchObject({ status: 'refunded', captures: 1 });
  });

  it('a payment that completes after the order was cancelled is refunded, and the order says so', async () => {
    const book = await createBook(seller.token, { stock: 2 });
    const created = await placed(buyer.token, [{ bookId: book.id, quantity: 1 }], CARD_OK);
    // The payment job has picked the order up (pending_payment) and is waiting on the gateway.
    await sleep(200);
    const cancelled = await request('POST', `/api/purchase/orders/${created.id}/cancel`, { token: buyer.token });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body.order.status).toBe('cancelled');
    expect(await stockOf(book.id)).toBe(2);

    // Let the job finish its round trip to the gateway, and its compensation run.
    await sleep(1500);
    const later = await readOrder(buyer.token, created.id);
    expect(later.status).toBe('cancelled');
    expect(later.events.map((e) => e.status)).toEqual(['pending_payment', 'cancelled']);
    const gateway = await charge(created.id);
    // Whether or not the gateway captured, no money is kept, and the order tells the buyer which it was.
    expect(gateway?.status ?? 'none').not.toBe('captured');
    expect(later.payment.status).toBe(gateway?.captures === 1 ? 'refunded' : 'voided');
    expect(await dbStock(book.id)).toBe(2);
  });
});
