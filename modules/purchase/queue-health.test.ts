/**
 * Queue health for operators: BullMQ job counts in /metrics, /admin/queues/stats and the bull-board
 * page, for administrators only.
 * On MariaDB, Redis and the real BullMQ payment and delivery workers running inside the store.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, servicesAvailable } from '../../test/harness.js';
import { itIsAProtectedRoute } from '../../test/protected-route.js';
import { BANK, usePurchaseStack } from './purchase.testkit.js';

const ready = await servicesAvailable('modules/purchase/queue-health.test.ts', ['mysql', 'redis']);

describe.runIf(ready)('queue health', () => {
  const stack = usePurchaseStack();
  const { request, seller, buyer, createBook, placed, waitForStatus } = stack;

  beforeAll(async () => {
    // The counts below need jobs that ran: one order, paid, shipped and delivered.
    const book = await createBook(seller.token, { stock: 1 });
    const created = await placed(buyer.token, [{ bookId: book.id, quantity: 1 }], BANK);
    await waitForStatus(buyer.token, created.id, 'delivered');
  });

  describe('queue health', () => {
    it('/metrics reports BullMQ job counts per queue and state', async () => {
      const response = await fetch(`${stack.store.url}/metrics`);
      expect(response.status).toBe(200);
      const text = await response.text();
      const lines = text.split('\n').filter((line) => line.startsWith('bookstore_queue_jobs{'));
      const completed = lines.find((line) => line.includes('queue="payments"') && line.includes('state="completed"'));
      expect(completed, lines.join('\n')).toBeDefined();
      expect(Number(completed!.split(' ').pop())).toBeGreaterThan(0);
      expect(lines.some((line) => line.includes('queue="deliveries"'))).toBe(true);
    });

    it('/admin/queues/stats: admin 200 with backend bullmq, customer 403, anonymous 401', async () => {
      const stats = await request('GET', '/api/purchase/admin/queues/stats', { token: stack.adminToken });
      expect(stats.status).toBe(200);
      expect(stats.body.backend).toBe('bullmq');
      expect(stats.body.queues.payments.completed).toBeGreaterThan(0);
      expect(stats.body.queues.deliveries.completed).toBeGreaterThan(0);
      expectProblem(await request('GET', '/api/purchase/admin/queues/stats', { token: buyer.token }), 403, 'forbidden');
      expectProblem(await request('GET', '/api/purchase/admin/queues/stats'), 401, 'unauthorized');
    });

    it('the bull-board page: admin 200 HTML, customer 403, anonymous 401', async () => {
      const page = await fetch(`${stack.store.url}/api/purchase/admin/queues`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await page.text()).toMatch(/<html/i);
      expectProblem(await request('GET', '/api/purchase/admin/queues', { token: buyer.token }), 403, 'forbidden');
      expectProblem(await request('GET', '/api/purchase/admin/queues'), 401, 'unauthorized');
      expectProblem(await request('GET', '/api/purchase/admin/queues/api/queues'), 401, 'unauthorized');
    });
  });

  itIsAProtectedRoute(() => stack, { method: 'GET', path: '/api/purchase/admin/queues/stats', allow: 'GET, HEAD', adminOnly: true, session: () => stack.adminToken });
});
