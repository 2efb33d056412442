import type { BookstoreModule } from '../kernel/module.js';
import { PURCHASE_ENTITIES } from '../modules/purchase/entities.js';
import { startOrderPlumbing } from '../modules/purchase/index.js';
import { jobHandler } from '../modules/purchase/lifecycle.js';
import { PAYMENTS } from '../modules/purchase/queues.js';

/**
 * The payment worker: charges orders through the simulated gateway and gives stock and money back
 * when an order will not be fulfilled. Runs as many replicas as the operator likes, each with
 * `WORKER_CONCURRENCY` jobs at once. It works on the purchase module's orders, with its code.
 */
export const paymentWorker: BookstoreModule = {
  name: 'payment-worker',
  needs: ['catalog'],
  description: 'Background payment jobs',
  entities: PURCHASE_ENTITIES,
  async start(ctx) {
    ctx.jobs.work(PAYMENTS, jobHandler(ctx), ctx.config.workerConcurrency);
    return startOrderPlumbing(ctx);
  },
};
