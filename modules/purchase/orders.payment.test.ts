/**
 * Payment outcomes of an order (a declined card, a card with transient errors) and the simulated
 * gateway itself: one capture per order, however many attempts charge it.
 * On MariaDB, Redis and the real BullMQ payment and delivery workers running inside the store.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { servicesAvailable } from '../../test/harness.js';
// The simulated gateway itself: duplicate charges of one order, which no API request can make at once.
import { charge as chargeOrder } from './gateway.js';
import { CARD_DECLINED, CARD_FLAKY, eventually, sleep, usePurchaseStack } from './purchase.testkit.js';

const ready = await servicesAvailable('modules/purchase/orders.payment.test.ts', ['mysql', 'redis']);

describe.runIf(ready)('paying for an order', () => {
  const stack = usePurchaseStack();
  const { seller, buyer, createBook, stockOf, dbStock, placed, waitForStatus, eventCounts, charge } = stack;

  describe('payment outcomes', () => {
    it('a declined card ends payment_failed and gives the stock back, once', async () => {
      const book = await createBook(seller.token, { stock: 4 });
      const created = await placed(buyer.token, [{ bookId: book.id, quantity: 3 }], CARD_DECLINED);
      expect(created.status).toBe('pending_payment');
      expect(created.payment).toEqual({ method: 'card', status: 'pending', brand: 'visa', last4: '0002' });
      const failed = await waitForStatus(buyer.token, created.id, 'payment_failed');
      expect(failed.payment).toEqual({ method: 'card', status: 'declined', brand: 'visa', last4: '0002' });
      expect(failed.events.map((e) => e.status)).toEqual(['pending_payment', 'payment_failed']);
      expect(await eventually(() => stockOf(book.id), (s) => s === 4)).toBe(4);
      await sleep(300);
      expect(await dbStock(book.id)).toBe(4);
      expect(await charge(created.id)).toMatchObject({ status: 'declined', captures: 0 });
      expect(await eventCounts(created.id)).toEqual({ pending_payment: 1, payment_failed: 1 });
    });

    it('a card with transient errors is retried and captured once, on the third attempt', async () => {
      const book = await createBook(seller.token, { stock: 2 });
      const created = await placed(buyer.token, [{ bookId: book.id, quantity: 1 }], CARD_FLAKY);
      const paid = await waitForStatus(buyer.token, created.id, 'paid');
      expect(paid.payment).toEqual({ method: 'card', status: 'captured', brand: 'visa', last4: '0119' });
      const delivered = await waitForStatus(buyer.token, created.id, 'delivered');
      expect(delivered.events.map((e) => e.status)).toEqual(['pending_payment', 'paid', 'shipped', 'delivered']);
      const rows = (await stack.db.query('select captures, attempts from purchase_gateway_charges where order_id = ?', [created.id])) as { captures: number; attempts: number }[];
      expect(rows).toEqual([{ captures: 1, attempts: 3 }]);
      expect(await stockOf(book.id)).toBe(1);
    });
  });

  describe('the simulated gateway', () => {
    it('captures an ordinary card once, however many attempts charge it at the same time', async () => {
      const orderId = randomUUID();
      const input = { orderId, token: `sim_card_ok_${randomBytes(12).toString('hex')}`, amountCents: 1234, latencyMs: 0 };
      const outcomes = await Promise.all(Array.from({ length: 6 }, () => chargeOrder(stack.store.context.db.em.fork(), input)));
      expect(outcomes).toEqual(Array(6).fill('captured'));
      expect(await charge(orderId)).toEqual({ status: 'captured', captures: 1, attempts: 1 });
    });

    it('declines a declined card every time, capturing nothing', async () => {
      const orderId = randomUUID();
      const input = { orderId, token: `sim_card_decline_${randomBytes(12).toString('hex')}`, amountCents: 1234, latencyMs: 0 };
      expect(await chargeOrder(stack.store.context.db.em.fork(), input)).toBe('declined');
      expect(await chargeOrder(stack.store.context.db.em.fork(), input)).toBe('declined');
      expect(await charge(orderId)).toMatchObject({ status: 'declined', captures: 0 });
    });
  });
});
