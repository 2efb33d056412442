/**
 * The sweeper and a step whose job gave up: a payment job that used up every attempt while the
 * database refused its write (as during a MariaDB restart) is run again once the order has lagged
 * long enough, although BullMQ keeps the failed job, under the same id, for days.
 */
import { expect, it } from 'vitest';
import { describeOnEachBackend, signUp } from '../../test/harness.js';
import { purchaseModule } from './index.js';
import { FAST_JOBS, createBook, nextAddress, orderBody, orderRow, refuseMovesOf, sleep, stockOf, waitForStatus } from './orders.testkit.js';
// The payment queue by name, to see what it holds.
import { PAYMENTS } from './order-jobs.js';
// The sweeper's pass, run on demand at a chosen time instead of on its timer.
import { STUCK_GRACE_MS, sweepOnce } from './sweeper.js';

describeOnEachBackend(
  'the sweeper and an order whose payment job gave up',
  (store) => {
    async function failedPayments(): Promise<number> {
      return (await store().store.context.jobs.counts(PAYMENTS)).failed ?? 0;
    }

    it('runs the payment again once the database is back: paid once, delivered, stock taken once', { timeout: 60_000 }, async () => {
      const [seller, buyer] = await Promise.all([signUp(store().request, 'Sal Seller', nextAddress()), signUp(store().request, 'Bea Buyer', nextAddress())]);
      const bookId = await createBook(store(), seller.token, 1200, 3);
      const failedBefore = await failedPayments();
      const allow = await refuseMovesOf(store(), buyer.user.id, ['paid', 'payment_failed']);
      let orderId: string;
      try {
        const placed = await store().request('POST', '/api/purchase/orders', { token: buyer.token, body: orderBody(bookId, 1) });
        expect(placed.status, JSON.stringify(placed.body)).toBe(201);
        orderId = placed.body.order.id as string;
        // Every attempt fails on the refused write; the last one leaves the job failed.
        const deadline = Date.now() + 30_000;
        while ((await failedPayments()) === failedBefore) {
          if (Date.now() > deadline) throw new Error('the payment job did not use up its attempts');
          await sleep(200);
        }
      } finally {
        await allow();
      }
      expect(await orderRow(store(), orderId)).toMatchObject({ status: 'pending_payment' });

      await sweepOnce(store().store.instanceOf(purchaseModule), Date.now() + STUCK_GRACE_MS + 1000);
      const delivered = await waitForStatus(store(), buyer.token, orderId, 'delivered');
      expect(delivered.events.map((event) => event.status)).toEqual(['pending_payment', 'paid', 'shipped', 'delivered']);
      expect(delivered.payment).toMatchObject({ status: 'captured' });
      const charges = await store().sql<{ status: string; captures: number }>('select status, captures from purchase_gateway_charges where order_id = ?', [orderId]);
      expect(charges.map((charge) => ({ status: charge.status, captures: Number(charge.captures) }))).toEqual([{ status: 'captured', captures: 1 }]);
      expect(await stockOf(store(), bookId)).toBe(2);
    });
  },
  FAST_JOBS,
);
