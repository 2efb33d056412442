/**
 * GET /orders/{id}/events, an order followed live: every status in order, each once, ids that are
 * positions in the order's `events`, the end of the stream at a final status, and Last-Event-ID
 * resuming without gap or duplicate. On each backend: SQLite with in-process jobs (the workers'
 * moves reach the purchase module inside the process) and MariaDB with Redis and BullMQ (over
 * Redis pub/sub). The heartbeat is a minute here, so every event must come from an announcement,
 * never from the heartbeat's read (orders.events.security.test.ts has the heartbeat).
 */
import { beforeAll, expect, it } from 'vitest';
import { describeOnEachBackend, signUp } from '../../test/harness.js';
import {
  CARD_DECLINED,
  FLOW,
  follow,
  nextStatus,
  orderEvents,
  placeOrder,
  statusesUntilEnd,
  stream,
  streamsBecome,
} from './order-events.testkit.js';
import { createBook, nextAddress } from './orders.testkit.js';

const ENV = { PAYMENT_DELAY_MS: '500', DELIVERY_SHIP_DELAY_MS: '300', DELIVERY_TRANSIT_DELAY_MS: '300', ORDER_EVENTS_HEARTBEAT_MS: '60000' };

describeOnEachBackend(
  'following an order live',
  (store) => {
    let buyer: string;
    let bookId: number;

    beforeAll(async () => {
      const [seller, customer] = await Promise.all([signUp(store().request, 'Sal Seller', nextAddress()), signUp(store().request, 'Bea Buyer', nextAddress())]);
      buyer = customer!.token;
      bookId = await createBook(store(), seller!.token, 1000, 100);
    });

    it('a paid order streams pending_payment, paid, shipped, delivered, ids 1 to 4, then the stream ends', async () => {
      const orderId = await placeOrder(store(), buyer, bookId);
      const answer = await follow(store(), orderId, { token: buyer });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toBe('text/event-stream');
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(answer.headers.get('x-accel-buffering')).toBe('no');
      const reader = answer.reader!;
      expect(await reader.next()).toEqual({ data: '', retry: 3000 });

      const events = await statusesUntilEnd(reader);
      expect(events.map((event) => event.status)).toEqual(FLOW);
      expect(events.map((event) => event.id)).toEqual(['1', '2', '3', '4']);
      // Each event is the order's own entry, as GET /orders/{id} shows it.
      expect(events).toEqual(await orderEvents(store(), buyer, orderId));
      expect(await streamsBecome(store(), 0)).toBe(0);
    });

    it('a declined card streams pending_payment, then payment_failed, and the stream ends', async () => {
      const orderId = await placeOrder(store(), buyer, bookId, CARD_DECLINED);
      const events = await statusesUntilEnd(await stream(store(), orderId, { token: buyer }));
      expect(events.map((event) => [event.id, event.status])).toEqual([['1', 'pending_payment'], ['2', 'payment_failed']]);
      expect(events[1]!.detail).toBe('The card was declined');
    });

    it('the buyer cancelling shows as cancelled, and the stream ends', async () => {
      const orderId = await placeOrder(store(), buyer, bookId);
      const reader = await stream(store(), orderId, { token: buyer });
      expect(await nextStatus(reader)).toMatchObject({ id: '1', status: 'pending_payment' });
      const cancelled = await store().request('POST', `/api/purchase/orders/${orderId}/cancel`, { token: buyer });
      expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
      expect(await statusesUntilEnd(reader)).toEqual([{ id: '2', status: 'cancelled', at: expect.any(String), detail: 'Cancelled by the buyer' }]);
    });

    it('reconnecting with Last-Event-ID gets every event after it: no gap, no duplicate', async () => {
      const orderId = await placeOrder(store(), buyer, bookId);
      const first = await stream(store(), orderId, { token: buyer });
      const seen = [await nextStatus(first), await nextStatus(first)];
      first.close();

      const again = await stream(store(), orderId, { token: buyer }, seen[1]!.id);
      seen.push(...(await statusesUntilEnd(again)));
      expect(seen.map((event) => event.id)).toEqual(['1', '2', '3', '4']);
      expect(seen).toEqual(await orderEvents(store(), buyer, orderId));
    });

    it('a finished order: its latest event then the end; from an earlier id, the rest; from its last id, 204', async () => {
      const orderId = await placeOrder(store(), buyer, bookId, CARD_DECLINED);
      await statusesUntilEnd(await stream(store(), orderId, { token: buyer }));
      const [placed, failed] = await orderEvents(store(), buyer, orderId);

      expect(await statusesUntilEnd(await stream(store(), orderId, { token: buyer }))).toEqual([failed]);
      expect(await statusesUntilEnd(await stream(store(), orderId, { token: buyer }, '1'))).toEqual([failed]);
      // An id the order does not have counts as none: the current status again.
      for (const bogus of ['0', '3', '99999999999', 'abc', '-1', '1.0', '']) {
        expect(await statusesUntilEnd(await stream(store(), orderId, { token: buyer }, bogus)), `Last-Event-ID: ${bogus}`).toEqual([failed]);
      }
      const done = await follow(store(), orderId, { token: buyer }, '2');
      expect(done.status).toBe(204);
      expect(done.reader).toBeUndefined();
      expect(placed!.status).toBe('pending_payment');
      expect(await streamsBecome(store(), 0)).toBe(0);
    });
  },
  ENV,
);
