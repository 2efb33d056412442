import { defineModule } from '../../kernel/module.js';
import { purchaseContext, purchaseSettings, startOrderPlumbing } from './context.js';
import { PURCHASE_ENTITIES } from './entities.js';
import { migrations } from './migrations/index.js';
import { ensureStartingProviders } from './providers.js';
import { registerStreamMetrics } from './order-events.js';
import { PURCHASE_QUEUES } from './order-jobs.js';
import { purchaseRoutes } from './routes.js';
import { startSweeper } from './sweeper.js';

export const purchaseModule = defineModule({
  name: 'purchase',
  needs: ['auth', 'catalog'],
  description: 'Orders, payment and delivery: delivery providers, placing and cancelling orders, your orders and your sales.',
  entities: PURCHASE_ENTITIES,
  migrations,
  settings: purchaseSettings,
  problems: ['idempotency_key_reused'],
  queues: PURCHASE_QUEUES,
  setup: purchaseContext,
  routes: purchaseRoutes,
  async start(orders) {
    if (orders.config.database.kind === 'sqlite') await ensureStartingProviders(orders.db.em.fork());
    // Only this module serves order event streams, so only it counts them (once per process).
    registerStreamMetrics(orders);
    // Its stopper also ends the open event streams and stops listening for order changes.
    const stopPlumbing = startOrderPlumbing(orders, 'purchase');
    const stopSweeper = startSweeper(orders, 10_000);
    return async () => {
      await stopSweeper();
      await stopPlumbing();
    };
  },
  // The event streams end as shutdown begins; each client resumes on another replica with Last-Event-ID.
  closing: (orders) => orders.changes.stop(),
});
