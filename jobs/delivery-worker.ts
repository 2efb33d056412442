import { defineModule } from '../kernel/module.js';
import { DELIVERIES, PURCHASE_ENTITIES, PURCHASE_QUEUES, jobHandler, purchaseContext, purchaseSettings, startOrderPlumbing } from '../modules/purchase/client.js';

/** The delivery worker: ships paid orders and delivers shipped ones, on delayed jobs. */
export const deliveryWorker = defineModule({
  name: 'delivery-worker',
  description: 'Background delivery jobs',
  entities: PURCHASE_ENTITIES,
  settings: purchaseSettings,
  queues: PURCHASE_QUEUES,
  setup: purchaseContext,
  async start(orders) {
    orders.jobs.work(DELIVERIES, jobHandler(orders), orders.config.workerConcurrency);
    return startOrderPlumbing(orders, 'delivery-worker');
  },
});
