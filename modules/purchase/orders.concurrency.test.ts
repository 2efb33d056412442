/**
 * Many buyers at once for too few copies: exactly as many orders as copies, the rest
 * 409 insufficient_stock, stock never negative, and losers hold nothing.
 * On MariaDB, Redis and the real BullMQ payment and delivery workers running inside the store.
 */
import { describe, expect, it } from 'vitest';
import { expectProblem, servicesAvailable } from '../../test/harness.js';
import { BANK, crowd, usePurchaseStack, type User } from './purchase.testkit.js';

const ready = await servicesAvailable('modules/purchase/orders.concurrency.test.ts', ['mysql', 'redis']);

describe.runIf(ready)('parallel buyers', () => {
  const stack = usePurchaseStack();
  const { request, seller, createBook, stockOf, dbStock, order, ordersOf } = stack;

  /** 50 buyers, registered in parallel batches of 10, each from an address of their own. */
  let fifty: User[] | undefined;
  const theCrowd = async (): Promise<User[]> => (fifty ??= await crowd(request, 50));

  describe('parallel buyers', () => {
    it('50 buyers for 7 copies: exactly 7 orders, 43 insufficient_stock, stock 0 and never negative', async () => {
      const users = await theCrowd();
      const book = await createBook(seller.token, { stock: 7 });
      const responses = await Promise.all(users.map((user) => order(user.token, [{ bookId: book.id, quantity: 1 }], BANK)));
      const created = responses.filter((r) => r.status === 201);
      const conflicts = responses.filter((r) => r.status === 409);
      expect(responses.map((r) => r.status).sort((a, b) => a - b)).toEqual([...Array(7).fill(201), ...Array(43).fill(409)]);
      for (const response of conflicts) expectProblem(response, 409, 'insufficient_stock');
      expect(new Set(created.map((r) => r.body.order.id)).size).toBe(7);
      expect(await stockOf(book.id)).toBe(0);
      expect(await dbStock(book.id)).toBe(0);
      const totals = await Promise.all(users.map(async (user) => (await ordersOf(user.token)).body.total as number));
      expect(totals.reduce((a, b) => a + b, 0)).toBe(7);
      const [held] = (await stack.db.query(`select coalesce(sum(quantity), 0) as n from catalog_reservations where book_id = ? and status = 'held'`, [book.id])) as { n: number }[];
      expect(Number(held!.n)).toBe(7);
    });

    it('10 buyers for two books, one of them scarce: the losers hold no copy of the other', async () => {
      const users = (await theCrowd()).slice(0, 10);
      const plenty = await createBook(seller.token, { stock: 20 });
      const scarce = await createBook(seller.token, { stock: 3 });
      const responses = await Promise.all(
        users.map((user) =>
          order(
            user.token,
            [
              { bookId: plenty.id, quantity: 1 },
              { bookId: scarce.id, quantity: 1 },
            ],
            BANK,
          ),
        ),
      );
      expect(responses.map((r) => r.status).sort((a, b) => a - b)).toEqual([201, 201, 201, 409, 409, 409, 409, 409, 409, 409]);
      for (const response of responses.filter((r) => r.status === 409)) expectProblem(response, 409, 'insufficient_stock');
      expect(await dbStock(plenty.id)).toBe(17);
      expect(await dbStock(scarce.id)).toBe(0);
    });
  });
});
