/**
 * GET /orders and GET /orders/{id}: a buyer reads their own orders (an administrator any), newest
 * first and paginated; anyone else gets 404, never a hint that the order exists.
 * On MariaDB, Redis and the real BullMQ payment and delivery workers running inside the store.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { expectProblem, servicesAvailable, signUp } from '../../test/harness.js';
import { BANK, nextAddress, sleep, usePurchaseStack, type Order } from './purchase.testkit.js';

const ready = await servicesAvailable('modules/purchase/orders.read.test.ts', ['mysql', 'redis']);

describe.runIf(ready)('reading orders', () => {
  const stack = usePurchaseStack();
  const { request, seller, buyer, other, createBook, placed, ordersOf } = stack;

  describe('reading orders', () => {
    it('GET /orders: 401 anonymous; the caller’s own orders, newest first, paginated with a total', async () => {
      expectProblem(await request('GET', '/api/purchase/orders'), 401, 'unauthorized');
      const [reader, someone] = await Promise.all([signUp(request, 'Rea Reader', nextAddress()), signUp(request, 'Sam Someone', nextAddress())]);
      const book = await createBook(seller.token, { stock: 10 });
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        ids.push((await placed(reader.token, [{ bookId: book.id, quantity: 1 }], BANK)).id);
        await sleep(5);
      }
      await placed(someone.token, [{ bookId: book.id, quantity: 1 }], BANK);
      const first = await ordersOf(reader.token, '?limit=2');
      expect(first.body).toMatchObject({ page: 1, limit: 2, total: 3 });
      expect(first.body.items.map((o: Order) => o.id)).toEqual([ids[2], ids[1]]);
      const second = await ordersOf(reader.token, '?limit=2&page=2');
      expect(second.body).toMatchObject({ page: 2, limit: 2, total: 3 });
      expect(second.body.items.map((o: Order) => o.id)).toEqual([ids[0]]);
      const all = await ordersOf(reader.token);
      expect(all.body.items.map((o: Order) => o.id)).toEqual([...ids].reverse());
      expect(all.body.items[0]).toMatchObject({ items: [{ bookId: book.id, quantity: 1 }], deliveryProvider: { id: 'envia' } });
      expectProblem(await request('GET', '/api/purchase/orders?limit=0', { token: reader.token }), 400, 'validation_failed');
    });

    it('GET /orders/{id}: 404 for another user and for unknown ids, 200 for the buyer and an admin', async () => {
      const book = await createBook(seller.token, { stock: 3 });
      const created = await placed(buyer.token, [{ bookId: book.id, quantity: 1 }], BANK);
      expectProblem(await request('GET', `/api/purchase/orders/${created.id}`), 401, 'unauthorized');
      expectProblem(await request('GET', `/api/purchase/orders/${created.id}`, { token: other.token }), 404, 'not_found');
      expectProblem(await request('GET', `/api/purchase/orders/${created.id}`, { token: seller.token }), 404, 'not_found');
      expectProblem(await request('GET', `/api/purchase/orders/${randomUUID()}`, { token: buyer.token }), 404, 'not_found');
      expectProblem(await request('GET', '/api/purchase/orders/abc', { token: buyer.token }), 404, 'not_found');
      expectProblem(await request('GET', '/api/purchase/orders/12345', { token: stack.adminToken }), 404, 'not_found');
      const mine = await request('GET', `/api/purchase/orders/${created.id}`, { token: buyer.token });
      expect(mine.status).toBe(200);
      expect(mine.body.order).toMatchObject({ id: created.id, items: created.items });
      const asAdmin = await request('GET', `/api/purchase/orders/${created.id}`, { token: stack.adminToken });
      expect(asAdmin.status).toBe(200);
      expect(asAdmin.body.order).toMatchObject({ id: created.id, items: created.items, totalCents: created.totalCents });
    });
  });
});
