/**
 * The sweeper and a poison order: an interrupted order whose confirmation the database keeps
 * refusing (a real trigger) is tried a bounded number of times, then cancelled with its stock given
 * back, while the other interrupted orders of the same passes are finished normally.
 */
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { describeOnEachBackend, signUp } from '../../test/harness.js';
import type { PurchaseContext } from './context.js';
import { purchaseModule } from './index.js';
import { ENVIA_COST, FAST_JOBS, REFUSED, createBook, draftOrder, nextAddress, orderRow, refuseConfirmationsOf, stockOf, sweepAttempts, waitForStatus } from './orders.testkit.js';
// The sweeper's pass, run on demand at a chosen time instead of on its timer.
import { MAX_SWEEP_ATTEMPTS, RESERVING_GRACE_MS, sweepOnce } from './sweeper.js';

interface LogLine {
  level: number;
  msg: string;
  orderId?: string;
  err?: string;
  status?: number;
  step?: string;
  attempt?: number;
}

/** The store's context with a logger whose lines the test reads. */
function recordingContext(ctx: PurchaseContext) {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { ctx: { ...ctx, logger }, lines };
}

describeOnEachBackend(
  'the sweeper and an order that cannot be confirmed',
  (store) => {
    it(`gives up after ${MAX_SWEEP_ATTEMPTS} attempts, cancelling it with its stock back, and finishes the others in the same passes`, async () => {
      const users = await Promise.all(['Sal Seller', 'Pat Poison', 'Olga Older', 'Nico Newer'].map((name) => signUp(store().request, name, nextAddress())));
      const [seller, poisoned, older, newer] = users as [(typeof users)[0], (typeof users)[0], (typeof users)[0], (typeof users)[0]];
      // One after another: books created in parallel can deadlock on the catalog's word index (MariaDB).
      const poisonBook = await createBook(store(), seller.token, 1500, 10);
      const olderBook = await createBook(store(), seller.token, 700, 5);
      const newerBook = await createBook(store(), seller.token, 400, 5);
      const now = Date.now();
      // Oldest first: the poison order sits between the two others, so it is met in every pass.
      const olderId = await draftOrder(store(), older.user.id, olderBook, 2, new Date(now - 2000));
      const poisonId = await draftOrder(store(), poisoned.user.id, poisonBook, 3, new Date(now - 1000));
      const newerId = await draftOrder(store(), newer.user.id, newerBook, 1, new Date(now));
      const allow = await refuseConfirmationsOf(store(), poisoned.user.id);
      const { ctx, lines } = recordingContext(store().store.instanceOf(purchaseModule));
      const later = now + RESERVING_GRACE_MS + 1000;
      try {
        for (let pass = 1; pass < MAX_SWEEP_ATTEMPTS; pass++) {
          await sweepOnce(ctx, later + pass);
          expect(await orderRow(store(), poisonId)).toMatchObject({ status: 'reserving' });
          expect(await sweepAttempts(store(), poisonId)).toBe(pass);
          expect(await stockOf(store(), poisonBook)).toBe(7);
        }
        // The others were finished in the first pass, and never tried again.
        expect(await orderRow(store(), olderId)).toMatchObject({ subtotalCents: 1400, totalCents: 1400 + ENVIA_COST });
        expect(await orderRow(store(), newerId)).toMatchObject({ subtotalCents: 400, totalCents: 400 + ENVIA_COST });
        expect([await sweepAttempts(store(), olderId), await sweepAttempts(store(), newerId)]).toEqual([1, 1]);

        await sweepOnce(ctx, later + MAX_SWEEP_ATTEMPTS);
        expect(await orderRow(store(), poisonId)).toMatchObject({ status: 'cancelled', subtotalCents: 4500, totalCents: 4500 + ENVIA_COST });
        expect(await sweepAttempts(store(), poisonId)).toBe(MAX_SWEEP_ATTEMPTS);
        expect(await stockOf(store(), poisonBook)).toBe(10);
        await sweepOnce(ctx, later + MAX_SWEEP_ATTEMPTS + 1);
        expect(await sweepAttempts(store(), poisonId)).toBe(MAX_SWEEP_ATTEMPTS);
        expect(await stockOf(store(), poisonBook)).toBe(10);
      } finally {
        await allow();
      }
      const events = await store().sql<{ status: string }>('select status from purchase_order_events where order_id = ?', [poisonId]);
      expect(events.map((e) => e.status)).toEqual(['cancelled']);

      // What the log says is what failed: the database's refusal, at the confirmation, attempt by attempt.
      const retries = lines.filter((line) => line.orderId === poisonId && line.level === 40);
      expect(retries.map((line) => line.attempt)).toEqual([1, 2, 3, 4]);
      expect(retries[0]).toMatchObject({ step: 'confirm', status: 500, err: expect.stringContaining(REFUSED) });
      expect(retries[0]!.msg).toContain(REFUSED);
      expect(retries[0]!.msg).not.toContain('could not reach the catalog');
      const gaveUp = lines.filter((line) => line.orderId === poisonId && line.level === 50);
      expect(gaveUp).toEqual([expect.objectContaining({ attempt: MAX_SWEEP_ATTEMPTS, step: 'confirm', status: 500, err: expect.stringContaining(REFUSED) })]);

      for (const [buyer, id] of [[older, olderId], [newer, newerId]] as const) {
        expect((await waitForStatus(store(), buyer.token, id, 'delivered')).status).toBe('delivered');
      }
      expect([await stockOf(store(), olderBook), await stockOf(store(), newerBook)]).toEqual([3, 4]);
    });

    it('cancels at once an interrupted order the catalog refuses for good, counting one attempt', async () => {
      const [seller, buyer] = await Promise.all([signUp(store().request, 'Sal Seller', nextAddress()), signUp(store().request, 'Bea Buyer', nextAddress())]);
      const bookId = await createBook(store(), seller.token, 1000, 1);
      const id = await draftOrder(store(), buyer.user.id, bookId, 2);
      await sweepOnce(store().store.instanceOf(purchaseModule), Date.now() + RESERVING_GRACE_MS + 1000);
      expect(await orderRow(store(), id)).toMatchObject({ status: 'cancelled', subtotalCents: 2000, totalCents: 2000 + ENVIA_COST });
      expect(await sweepAttempts(store(), id)).toBe(1);
      expect(await stockOf(store(), bookId)).toBe(1);
    });
  },
  FAST_JOBS,
);
