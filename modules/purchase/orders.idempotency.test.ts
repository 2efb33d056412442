/**
 * POST /orders with an Idempotency-Key: a retry answers the same order and reserves once, also
 * when sent concurrently or while losing a stock race; keys are per buyer; a reused key with
 * another body is 422.
 * On MariaDB, Redis and the real BullMQ payment and delivery workers running inside the store.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { expectProblem, servicesAvailable, signUp } from '../../test/harness.js';
import {
  BANK,
  CARD_OK,
  PAYPAL,
  crowd,
  nextAddress,
  usePurchaseStack,
  type Order,
} from './purchase.testkit.js';

const ready = await servicesAvailable('modules/purchase/orders.idempotency.test.ts', ['mysql', 'redis']);

describe.runIf(ready)('POST /orders retries', () => {
  const { request, seller, other, createBook, stockOf, dbStock, order, ordersOf } = usePurchaseStack();

  describe('Idempotency-Key', () => {
    it('answers the same order for the same key and body, reserving once', async () => {
      const payer = await signUp(request, 'Ida Idem', nextAddress());
      const book = await createBook(seller.token, { stock: 5 });
      const key = `order-${randomUUID()}`;
      const first = await order(payer.token, [{ bookId: book.id, quantity: 2 }], CARD_OK, { 'idempotency-key': key });
      expect(first.status, JSON.stringify(first.body)).toBe(201);
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      const second = await order(payer.token, [{ bookId: book.id, quantity: 2 }], CARD_OK, { 'idempotency-key': key });
      expect(second.status, JSON.stringify(second.body)).toBe(201);
      expect(second.headers.get('idempotent-replayed')).toBe('true');
      expect(second.body.order.id).toBe(first.body.order.id);
      expect(JSON.stringify(second.body)).not.toContain('4242424242424242');
      expect(await stockOf(book.id)).toBe(3);
      const mine = await ordersOf(payer.token);
      expect(mine.body.total).toBe(1);
      expect(mine.body.items.map((o: Order) => o.id)).toEqual([first.body.order.id]);

      const different = await order(payer.token, [{ bookId: book.id, quantity: 1 }], CARD_OK, { 'idempotency-key': key });
      expectProblem(different, 422, 'idempotency_key_reused');
      expect(await stockOf(book.id)).toBe(3);
      expect((await ordersOf(payer.token)).body.total).toBe(1);
    });

    it('answers 10 concurrent requests with one key and body with one single order', async () => {
      const payer = await signUp(request, 'Conny Current', nextAddress());
      const book = await createBook(seller.token, { stock: 20 });
      const key = `burst-${randomUUID()}`;
      const responses = await Promise.all(Array.from({ length: 10 }, () => order(payer.token, [{ bookId: book.id, quantity: 3 }], PAYPAL, { 'idempotency-key': key })));
      expect(responses.map((r) => r.status)).toEqual(Array(10).fill(201));
      expect(new Set(responses.map((r) => r.body.order.id)).size).toBe(1);
      expect(responses.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(9);
      expect(await stockOf(book.id)).toBe(17);
      const mine = await ordersOf(payer.token);
      expect(mine.body.total).toBe(1);
      expect(mine.body.items).toHaveLength(1);
    });

    it('answers concurrent retries with one key 201 or 409, never 500, when the first request loses the stock race', async () => {
      const racers = await crowd(request, 10);
      const payer = await signUp(request, 'Rory Retry', nextAddress());
      for (let round = 0; round < 3; round++) {
        const book = await createBook(seller.token, { stock: 1 });
        const key = `race-${randomUUID()}`;
        const [keyed, unkeyed] = await Promise.all([
          Promise.all(Array.from({ length: 5 }, () => order(payer.token, [{ bookId: book.id, quantity: 1 }], BANK, { 'idempotency-key': key }))),
          Promise.all(racers.map((user) => order(user.token, [{ bookId: book.id, quantity: 1 }], BANK))),
        ]);
        const statuses = keyed.map((r) => `${r.status} ${r.body?.code ?? ''}`.trim());
        for (const response of keyed) expect([201, 409], statuses.join(', ')).toContain(response.status);
        for (const response of keyed.filter((r) => r.status === 409)) expectProblem(response, 409, 'insufficient_stock');
        expect(new Set(keyed.filter((r) => r.status === 201).map((r) => r.body.order.id)).size).toBeLessThanOrEqual(1);
        const winners = new Set([...keyed, ...unkeyed].filter((r) => r.status === 201).map((r) => r.body.order.id));
        expect(winners.size).toBe(1);
        expect(await dbStock(book.id)).toBe(0);
      }
    });

    it('keeps keys per buyer: another buyer with the same key gets an order of their own', async () => {
      const [first, second] = await Promise.all([signUp(request, 'Kim Key', nextAddress()), signUp(request, 'Kai Key', nextAddress())]);
      const book = await createBook(seller.token, { stock: 5 });
      const key = `shared-${randomUUID()}`;
      const a = await order(first.token, [{ bookId: book.id, quantity: 1 }], BANK, { 'idempotency-key': key });
      const b = await order(second.token, [{ bookId: book.id, quantity: 1 }], BANK, { 'idempotency-key': key });
      expect([a.status, b.status]).toEqual([201, 201]);
      expect(b.headers.get('idempotent-replayed')).toBeNull();
      expect(b.body.order.id).not.toBe(a.body.order.id);
      expect(await stockOf(book.id)).toBe(3);
      expect((await ordersOf(second.token)).body.items.map((o: Order) => o.id)).toEqual([b.body.order.id]);
    });

    it.each([
      ['300 characters', 'k'.repeat(300)],
      ['a space', 'has space'],
    ])('refuses a key of %s with 400, holding nothing', async (_label, key) => {
      const book = await createBook(seller.token, { stock: 2 });
      const response = await order(other.token, [{ bookId: book.id, quantity: 1 }], BANK, { 'idempotency-key': key });
      expectProblem(response, 400, 'validation_failed');
      expect(await stockOf(book.id)).toBe(2);
    });
  });
});
