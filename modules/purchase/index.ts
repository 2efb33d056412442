import type { BookstoreModule, ModuleContext } from '../../kernel/module.js';
import { registerQueueMetrics } from '../../kernel/queues.js';
import { PURCHASE_ENTITIES } from './entities.js';
import { migrations } from './migrations/index.js';
import { outboxRelay } from './outbox.js';
import { DELIVERIES, PAYMENTS } from './queues.js';
import { ensureStartingProviders } from './providers.js';
import { purchaseRoutes } from './routes.js';
import { startSweeper } from './sweeper.js';

const metered = new WeakSet<object>();

/**
 * What every process that works on orders starts: the outbox relay (one per process) and the
 * queue gauges on /metrics. Answers how to stop it.
 */
export function startOrderPlumbing(ctx: ModuleContext) {
  if (!metered.has(ctx.metrics)) {
    metered.add(ctx.metrics);
    registerQueueMetrics(ctx.metrics.registry, ctx.jobs, [PAYMENTS, DELIVERIES]);
  }
  const relay = outboxRelay(ctx);
  relay.start(1000);
  relay.nudge();
  return () => relay.stop();
}

export const purchaseModule: BookstoreModule = {
  name: 'purchase',
  needs: ['auth', 'catalog'],
  description: 'Orders, payment and delivery: delivery providers, placing and cancelling orders, your orders and your sales.',
  entities: PURCHASE_ENTITIES,
  migrations,
  routes: purchaseRoutes,
  async start(ctx) {
    if (ctx.config.database.kind === 'sqlite') await ensureStartingProviders(ctx.db.em.fork());
    const stopRelay = startOrderPlumbing(ctx);
    const stopSweeper = startSweeper(ctx, 10_000);
    return async () => {
      await stopSweeper();
      await stopRelay();
    };
  },
};
