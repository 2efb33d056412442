/**
 * GET /delivery-providers: the providers with their coverage and cost, read from the database once a
 * minute, not once per order.
 * On MariaDB, Redis and the real BullMQ payment and delivery workers running inside the store.
 */
import { describe, expect, it } from 'vitest';
import { servicesAvailable } from '../../test/harness.js';
import { purchaseModule } from './index.js';
// How long a read of the providers is kept, to step past it without waiting.
import { PROVIDERS_FRESH_MS } from './providers.js';
import { usePurchaseStack } from './purchase.testkit.js';

const ready = await servicesAvailable('modules/purchase/delivery-providers.test.ts', ['mysql', 'redis']);

describe.runIf(ready)('delivery providers', () => {
  const stack = usePurchaseStack();
  const { request } = stack;

  describe('GET /delivery-providers', () => {
    it('lists DHL and FedEx (international), Envia and Servientrega (national) with their cost', async () => {
      const response = await request('GET', '/api/purchase/delivery-providers');
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const items = [...(response.body.items as { id: string }[])].sort((a, b) => a.id.localeCompare(b.id));
      expect(items).toEqual([
        { id: 'dhl', name: 'DHL', coverage: 'international', costCents: 2500 },
        { id: 'envia', name: 'Envia', coverage: 'national', costCents: 800 },
        { id: 'fedex', name: 'FedEx', coverage: 'international', costCents: 2200 },
        { id: 'servientrega', name: 'Servientrega', coverage: 'national', costCents: 600 },
      ]);
    });
  });

  describe('delivery providers', () => {
    it('are read once a minute, not once per order', async () => {
      const now = Date.now() + 10 * PROVIDERS_FRESH_MS;
      const { providers } = stack.store.instanceOf(purchaseModule);
      expect(await providers.find('courier-test', now)).toBeUndefined();
      await stack.db.query(`insert into purchase_delivery_providers (id, name, coverage, cost_cents) values ('courier-test', 'Courier', 'national', 100)`);
      try {
        expect((await providers.all(now + 1000)).map((p) => p.id)).not.toContain('courier-test');
        expect((await providers.all(now + PROVIDERS_FRESH_MS)).map((p) => p.id)).toContain('courier-test');
      } finally {
        await stack.db.query(`delete from purchase_delivery_providers where id = 'courier-test'`);
        await providers.all(now + 3 * PROVIDERS_FRESH_MS);
      }
    });
  });
});
