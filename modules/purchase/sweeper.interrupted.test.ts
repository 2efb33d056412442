/**
 * The sweeper finishes orders a request left half-done (status reserving, or a payment left in the
 * outbox): reserved once and delivered, or cancelled holding nothing when the stock is gone.
 * sweeper.test.ts covers the poison order, sweeper.redispatch.test.ts a job BullMQ kept failed.
 * On MariaDB, Redis and the real BullMQ payment and delivery workers running inside the store.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { expectProblem, servicesAvailable } from '../../test/harness.js';
import { purchaseModule } from './index.js';
import { ENVIA_COST, FLOW, SHIPPING, eventually, usePurchaseStack, type Book } from './purchase.testkit.js';
// The sweeper's pass, run on demand at a chosen time, and its timer (startSweeper).
import { startSweeper, sweepOnce } from './sweeper.js';

const ready = await servicesAvailable('modules/purchase/sweeper.interrupted.test.ts', ['mysql', 'redis']);

describe.runIf(ready)('sweeping interrupted orders', () => {
  const stack = usePurchaseStack();
  const { request, seller, buyer, createBook, stockOf, dbStock, readOrder, waitForStatus, eventCounts } = stack;

  describe('the sweeper', () => {
    /** An order as a request that died between writing it and reserving its stock would leave it. */
    async function reservingOrder(buyerId: number, book: Book, quantity: number): Promise<string> {
      const id = randomUUID();
      const subtotal = book.priceCents * quantity;
      // The items first: the store's own sweeper (every 10 s) must never see the order without them.
      await stack.db.query('insert into purchase_order_items (order_id, book_id, title, unit_price_cents, quantity, seller_id) values (?, ?, ?, ?, ?, ?)', [
        id,
        book.id,
        book.title,
        book.priceCents,
        quantity,
        book.sellerId,
      ]);
      await stack.db.query(
        `insert into purchase_orders (id, buyer_id, status, subtotal_cents, delivery_cost_cents, total_cents, currency, delivery_provider_id,
           delivery_provider_name, shipping_address, payment_method, payment_status, payment_brand, payment_last4, payment_token,
           tracking_number, idempotency_key, request_hash, created_at, updated_at)
         values (?, ?, 'reserving', ?, ?, ?, 'USD', 'envia', 'Envia', ?, 'bank_transfer', 'pending', null, null, ?, null, null, null,
           utc_timestamp(3) - interval 1 minute, utc_timestamp(3) - interval 1 minute)`,
        [id, buyerId, subtotal, ENVIA_COST, subtotal + ENVIA_COST, JSON.stringify(SHIPPING), `sim_bank_transfer_ok_${randomBytes(12).toString('hex')}`],
      );
      return id;
    }

    it('completes an interrupted order: reserved once, then paid, shipped and delivered', async () => {
      const book = await createBook(seller.token, { priceCents: 1100, stock: 5 });
      const id = await reservingOrder(buyer.user.id, book, 2);
      expectProblem(await request('GET', `/api/purchase/orders/${id}`, { token: buyer.token }), 404, 'not_found');
      await sweepOnce(stack.store.instanceOf(purchaseModule));
      const swept = await readOrder(buyer.token, id);
      expect(swept.events[0]?.status).toBe('pending_payment');
      expect(FLOW).toContain(swept.status);
      expect(swept).toMatchObject({ items: [{ bookId: book.id, unitPriceCents: 1100, quantity: 2, sellerId: seller.user.id }], subtotalCents: 2200, totalCents: 2200 + ENVIA_COST });
      expect(await stockOf(book.id)).toBe(3);
      const delivered = await waitForStatus(buyer.token, id, 'delivered');
      expect(delivered.events.map((e) => e.status)).toEqual(['pending_payment', 'paid', 'shipped', 'delivered']);
      await sweepOnce(stack.store.instanceOf(purchaseModule));
      expect(await stockOf(book.id)).toBe(3);
      expect(await eventCounts(id)).toEqual({ pending_payment: 1, paid: 1, shipped: 1, delivered: 1 });
    });

    it('keeps the totals of an interrupted order equal to its items when the price moved before the sweep', async () => {
      // The request read the price (1000) and wrote the order, then died; the seller then raised the price.
      const book = await createBook(seller.token, { priceCents: 1000, stock: 5 });
      const id = await reservingOrder(buyer.user.id, book, 2);
      expect((await request('PATCH', `/api/catalog/books/${book.id}`, { token: seller.token, body: { priceCents: 3000 } })).status).toBe(200);
      await sweepOnce(stack.store.instanceOf(purchaseModule));
      const swept = await readOrder(buyer.token, id);
      const itemsSum = swept.items.reduce((sum, item) => sum + item.unitPriceCents * item.quantity, 0);
      expect(swept.subtotalCents).toBe(itemsSum);
      expect(swept.totalCents).toBe(swept.subtotalCents + swept.deliveryCostCents);
    });

    it('hands over a payment a crash left in the outbox, and leaves young messages to the process that wrote them', async () => {
      const book = await createBook(seller.token, { stock: 2 });
      const id = await reservingOrder(buyer.user.id, book, 1);
      await stack.db.query(`update purchase_orders set status = 'pending_payment' where id = ?`, [id]);
      await stack.db.query(`insert into purchase_order_events (order_id, status, detail, at) values (?, 'pending_payment', 'Order placed; stock reserved', utc_timestamp(3))`, [id]);
      const outbox = `insert into purchase_outbox (queue, job, order_id, available_at, created_at) values ('payments', 'pay', ?, utc_timestamp(3), utc_timestamp(3) - interval ? second)`;
      await stack.db.query(outbox, [id, 60]);
      await stack.db.query(outbox, [id, 0]);
      await stack.store.instanceOf(purchaseModule).relay.drain();
      const rows = (await stack.db.query('select dispatched_at from purchase_outbox where order_id = ? order by id', [id])) as { dispatched_at: Date | null }[];
      expect(rows.map((row) => row.dispatched_at !== null)).toEqual([true, false]);
      const delivered = await waitForStatus(buyer.token, id, 'delivered');
      expect(delivered.events.map((e) => e.status)).toEqual(['pending_payment', 'paid', 'shipped', 'delivered']);
    });

    it('completes an order interrupted before the catalog priced its lines, with the catalog’s prices', async () => {
      const book = await createBook(seller.token, { priceCents: 1300, stock: 4 });
      const id = await reservingOrder(buyer.user.id, { ...book, title: '', priceCents: 0, sellerId: 0 }, 2);
      await sweepOnce(stack.store.instanceOf(purchaseModule));
      const swept = await readOrder(buyer.token, id);
      expect(swept).toMatchObject({ items: [{ bookId: book.id, title: book.title, unitPriceCents: 1300, quantity: 2, sellerId: seller.user.id }], subtotalCents: 2600, totalCents: 2600 + ENVIA_COST });
      expect(await dbStock(book.id)).toBe(2);
    });

    it('cancels an order interrupted before pricing whose stock is gone, showing what it was for', async () => {
      const book = await createBook(seller.token, { priceCents: 1500, stock: 1 });
      const id = await reservingOrder(buyer.user.id, { ...book, title: '', priceCents: 0, sellerId: 0 }, 3);
      await sweepOnce(stack.store.instanceOf(purchaseModule));
      const swept = await readOrder(buyer.token, id);
      expect(swept).toMatchObject({ status: 'cancelled', items: [{ bookId: book.id, title: book.title, unitPriceCents: 1500, quantity: 3, sellerId: seller.user.id }], subtotalCents: 4500, totalCents: 4500 + ENVIA_COST, currency: 'USD' });
      expect(await dbStock(book.id)).toBe(1);
    });

    it('cancels an interrupted order whose stock is gone, holding nothing', async () => {
      const book = await createBook(seller.token, { stock: 1 });
      const id = await reservingOrder(buyer.user.id, book, 3);
      await sweepOnce(stack.store.instanceOf(purchaseModule));
      const swept = await readOrder(buyer.token, id);
      expect(swept.status).toBe('cancelled');
      expect(swept.events).toEqual([{ status: 'cancelled', at: expect.any(String), detail: expect.any(String) }]);
      expect(await stockOf(book.id)).toBe(1);
      await sweepOnce(stack.store.instanceOf(purchaseModule));
      expect(await eventCounts(id)).toEqual({ cancelled: 1 });
      expect(await dbStock(book.id)).toBe(1);
    });

    it('runs on its own timer: an interrupted order is finished without anyone asking', async () => {
      const book = await createBook(seller.token, { stock: 2 });
      const id = await reservingOrder(buyer.user.id, book, 1);
      // The store's own timer passes every 10 s; this one every 25 ms, so the test need not wait.
      const stop = startSweeper(stack.store.instanceOf(purchaseModule), 25);
      try {
        const status = async () => ((await stack.db.query('select status from purchase_orders where id = ?', [id])) as { status: string }[])[0]!.status;
        expect(await eventually(status, (current) => current !== 'reserving')).not.toBe('reserving');
      } finally {
        await stop();
      }
      const delivered = await waitForStatus(buyer.token, id, 'delivered');
      expect(delivered.events.map((e) => e.status)).toEqual(['pending_payment', 'paid', 'shipped', 'delivered']);
      expect(await eventCounts(id)).toEqual({ pending_payment: 1, paid: 1, shipped: 1, delivered: 1 });
      expect(await dbStock(book.id)).toBe(1);
    });
  });
});
