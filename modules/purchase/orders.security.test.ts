/**
 * Every signed-in order route passes the checks that test/protected-route.ts writes once (401, 403
 * for a cookie change without our Origin, malformed JSON, unknown fields, 405), on each backend.
 * GET /sales and the administrators' /admin/queues/stats are checked in sales.test.ts and
 * queue-health.test.ts; what an order route refuses beyond these is in orders.errors.test.ts.
 */
import { beforeAll, expect } from 'vitest';
import { describeOnEachBackend, signUp } from '../../test/harness.js';
import { itIsAProtectedRoute } from '../../test/protected-route.js';
import { createBook, nextAddress, orderBody } from './orders.testkit.js';

describeOnEachBackend('order routes are protected', (store) => {
  let buyer: string;
  let bookId: number;
  let orderId: string;

  beforeAll(async () => {
    const [seller, customer] = await Promise.all([signUp(store().request, 'Sal Seller', nextAddress()), signUp(store().request, 'Bea Buyer', nextAddress())]);
    buyer = customer!.token;
    bookId = await createBook(store(), seller!.token, 1000, 50);
    const placed = await store().request('POST', '/api/purchase/orders', { token: buyer, body: orderBody(bookId, 1) });
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    orderId = placed.body.order.id as string;
  });

  const session = () => buyer;
  const order = () => ({ id: orderId });

  itIsAProtectedRoute(store, { method: 'POST', path: '/api/purchase/orders', allow: 'GET, HEAD, POST', body: () => orderBody(bookId, 1), session });
  itIsAProtectedRoute(store, { method: 'GET', path: '/api/purchase/orders', allow: 'GET, HEAD, POST', session });
  itIsAProtectedRoute(store, { method: 'GET', path: '/api/purchase/orders/{id}', params: order, allow: 'GET, HEAD', session });
  itIsAProtectedRoute(store, { method: 'POST', path: '/api/purchase/orders/{id}/cancel', params: order, allow: 'POST', session });
});
