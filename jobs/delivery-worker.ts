import type { BookstoreModule } from '../kernel/module.js';
import { PURCHASE_ENTITIES } from '../modules/purchase/entities.js';
import { startOrderPlumbing } from '../modules/purchase/index.js';
import { jobHandler } from '../modules/purchase/lifecycle.js';
import { DELIVERIES } from '../modules/purchase/queues.js';

/** The delivery worker: ships paid orders and delivers shipped ones, on delayed jobs. */
export const deliveryWorker: BookstoreModule = {
  name: 'delivery-worker',
  description: 'Background delivery jobs',
  entities: PURCHASE_ENTITIES,
  async start(ctx) {
    ctx.jobs.work(DELIVERIES, jobHandler(ctx), ctx.config.workerConcurrency);
    return startOrderPlumbing(ctx);
  },
};
