/**
 * GET /orders/{id}/events: who may follow an order (its buyer by token or cookie, an administrator;
 * 401 and 404 like GET /orders/{id}), the heartbeat and the read it comes with, and what a stream
 * leaves behind when its client goes away or the module stops: nothing. On each backend. Payments
 * take a minute here, so orders stay `pending_payment` and their streams stay open.
 */
import { beforeAll, expect, it, vi } from 'vitest';
import { describeOnEachBackend, expectProblem, signUp } from '../../test/harness.js';
import { purchaseModule } from './index.js';
import { follow, nextStatus, openStreams, orderEvents, placeOrder, statusesUntilEnd, stream, streamsBecome, streamsGauge } from './order-events.testkit.js';
import { createBook, nextAddress } from './orders.testkit.js';

const ADMIN = { email: 'events.admin@example.test', password: 'admin password 123' };
const ENV = {
  PAYMENT_DELAY_MS: '60000',
  ORDER_EVENTS_HEARTBEAT_MS: '200',
  // The payment jobs still running at the end need not hold the store's shutdown.
  SHUTDOWN_TIMEOUT_MS: '1000',
  BOOKSTORE_ADMIN_EMAIL: ADMIN.email,
  BOOKSTORE_ADMIN_PASSWORD: ADMIN.password,
};

describeOnEachBackend(
  'following an order: who may, heartbeats, leaving',
  (store) => {
    let buyer: Awaited<ReturnType<typeof signUp>>;
    let other: string;
    let admin: string;
    let bookId: number;

    beforeAll(async () => {
      const [seller, customer, stranger] = await Promise.all(['Sal Seller', 'Bea Buyer', 'Otto Other'].map((name) => signUp(store().request, name, nextAddress())));
      buyer = customer!;
      other = stranger!.token;
      bookId = await createBook(store(), seller!.token, 1000, 100);
      const login = await store().request('POST', '/api/auth/login', { body: ADMIN, headers: { 'x-forwarded-for': nextAddress() } });
      expect(login.status).toBe(200);
      admin = login.body.token as string;
    });

    it('401 without a session; 404 for another customer, for an order nobody has, and for a path id that is no id', async () => {
      const orderId = await placeOrder(store(), buyer.token, bookId);
      expectProblem(toResponse(await follow(store(), orderId, {})), 401, 'unauthorized');
      expectProblem(toResponse(await follow(store(), orderId, { token: 'not-a-session' })), 401, 'unauthorized');
      const theirs = toResponse(await follow(store(), orderId, { token: other }));
      expectProblem(theirs, 404, 'not_found');
      const nobodys = toResponse(await follow(store(), '0b7c43a4-0e0f-4a8e-9d7e-3f1a2b3c4d5e', { token: buyer.token }));
      expect(nobodys.body).toEqual({ ...theirs.body, detail: nobodys.body.detail });
      expect(await streamsBecome(store(), 0)).toBe(0);
    });

    it('a path id that cannot be an order id is 404 before any statement carries it', async () => {
      const execute = vi.spyOn(store().store.context.db.em.getConnection(), 'execute');
      try {
        expectProblem(toResponse(await follow(store(), 'Not-An-Id', { token: buyer.token })), 404, 'not_found');
        expect(execute.mock.calls.filter(([, params]) => JSON.stringify(params ?? []).includes('Not-An-Id'))).toEqual([]);
      } finally {
        execute.mockRestore();
      }
    });

    it('the buyer may follow by cookie, and an administrator may follow any order', async () => {
      const orderId = await placeOrder(store(), buyer.token, bookId);
      const [placed] = await orderEvents(store(), buyer.token, orderId);
      for (const who of [{ cookie: buyer.cookie }, { token: admin }]) {
        const reader = await stream(store(), orderId, who);
        expect(await nextStatus(reader)).toEqual(placed);
        reader.close();
      }
    });

    it('HEAD answers the headers of a stream, and follows nothing', async () => {
      const orderId = await placeOrder(store(), buyer.token, bookId);
      const head = await fetch(`${store().store.url}/api/purchase/orders/${orderId}/events`, { method: 'HEAD', headers: { authorization: `Bearer ${buyer.token}` } });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-type')).toBe('text/event-stream');
      expect(await head.text()).toBe('');
      expect(openStreams(store())).toBe(0);
    });

    it('a heartbeat comment comes whenever nothing else was sent for ORDER_EVENTS_HEARTBEAT_MS', async () => {
      const orderId = await placeOrder(store(), buyer.token, bookId);
      const reader = await stream(store(), orderId, { token: buyer.token });
      await nextStatus(reader);
      const started = Date.now();
      for (let beat = 1; beat <= 3; beat++) expect(await reader.next(2000)).toEqual({ data: '', comment: 'heartbeat' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(500);
      reader.close();
    });

    it('each heartbeat reads the order again: a move nobody announced still shows', async () => {
      const orderId = await placeOrder(store(), buyer.token, bookId);
      const reader = await stream(store(), orderId, { token: buyer.token });
      await nextStatus(reader);
      // Written behind the store's back, as a move whose announcement was lost.
      const at = new Date();
      await store().sql(`insert into purchase_order_events (order_id, status, detail, at) values (?, 'cancelled', 'Cancelled behind its back', ?)`, [orderId, at]);
      await store().sql(`update purchase_orders set status = 'cancelled' where id = ?`, [orderId]);
      expect(await statusesUntilEnd(reader, 2000)).toEqual([{ id: '2', status: 'cancelled', at: at.toISOString(), detail: 'Cancelled behind its back' }]);
    });

    it('a client that goes away leaves no follower behind; /metrics counts the open streams', async () => {
      const orderId = await placeOrder(store(), buyer.token, bookId);
      const readers = await Promise.all([1, 2, 3].map(() => stream(store(), orderId, { token: buyer.token })));
      for (const reader of readers) await nextStatus(reader);
      expect(openStreams(store())).toBe(3);
      expect(await streamsGauge(store())).toBe(3);
      for (const reader of readers) reader.close();
      expect(await streamsBecome(store(), 0)).toBe(0);
      expect(await streamsGauge(store())).toBe(0);
    });

    // Last: it stops the purchase module's order announcements for the rest of this store's life.
    it('stopping the module ends the open streams', async () => {
      const orderId = await placeOrder(store(), buyer.token, bookId);
      const reader = await stream(store(), orderId, { token: buyer.token });
      await nextStatus(reader);
      store().store.instanceOf(purchaseModule).changes.stop();
      expect(await statusesUntilEnd(reader, 2000)).toEqual([]);
      expect(openStreams(store())).toBe(0);
    });
  },
  ENV,
);

/** A refused follow as the expectProblem helper reads answers. */
function toResponse(answer: Awaited<ReturnType<typeof follow>>) {
  expect(answer.reader, 'a refusal is not a stream').toBeUndefined();
  return { status: answer.status, headers: answer.headers, body: answer.body };
}
