import { defineModule } from '../kernel/module.js';
import { PAYMENTS, PURCHASE_ENTITIES, PURCHASE_QUEUES, jobHandler, purchaseContext, purchaseSettings, startOrderPlumbing } from '../modules/purchase/client.js';

/**
 * The payment worker: charges orders through the simulated gateway and gives stock and money back
 * when an order will not be fulfilled. Runs as many replicas as the operator likes, each with
 * `WORKER_CONCURRENCY` jobs at once. It works on the purchase module's orders, with its code.
 */
export const paymentWorker = defineModule({
  name: 'payment-worker',
  needs: ['catalog'],
  description: 'Background payment jobs',
  entities: PURCHASE_ENTITIES,
  settings: purchaseSettings,
  queues: PURCHASE_QUEUES,
  setup: purchaseContext,
  async start(orders) {
    orders.jobs.work(PAYMENTS, jobHandler(orders), orders.config.workerConcurrency);
    return startOrderPlumbing(orders, 'payment-worker');
  },
});
