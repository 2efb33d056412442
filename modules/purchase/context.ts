import { defineSettings, milliseconds, type SettingsOf } from '../../kernel/config.js';
import type { ModuleContext, Stopper } from '../../kernel/module.js';
import { OutboxRelay } from './outbox.js';
import { DeliveryProviders } from './providers.js';

/**
 * The simulated latencies of payment and delivery. Read by every module that works on orders: the
 * workers wait them out, the sweeper judges from them when an order's job was lost.
 */
export const purchaseSettings = defineSettings(
  {
    PAYMENT_DELAY_MS: milliseconds(2000),
    DELIVERY_SHIP_DELAY_MS: milliseconds(5000),
    DELIVERY_TRANSIT_DELAY_MS: milliseconds(5000),
  },
  (values) => ({
    delays: { paymentMs: values.PAYMENT_DELAY_MS, shipMs: values.DELIVERY_SHIP_DELAY_MS, transitMs: values.DELIVERY_TRANSIT_DELAY_MS },
  }),
);

export type PurchaseSettings = SettingsOf<typeof purchaseSettings>;

/**
 * Orders in one module instance (the purchase module, or a worker): the kernel's plumbing, the
 * settings, and what this instance keeps between requests and jobs.
 */
export interface PurchaseContext extends ModuleContext<PurchaseSettings> {
  /** Hands committed outbox messages to the job queue (outbox.ts). */
  relay: OutboxRelay;
  /** The delivery providers, read once a minute (providers.ts). */
  providers: DeliveryProviders;
}

/** The `setup` of every module that works on orders. */
export function purchaseContext(ctx: ModuleContext<PurchaseSettings>): PurchaseContext {
  const relay = new OutboxRelay(ctx.db, ctx.jobs, ctx.logger, ctx.config.database.kind === 'mysql');
  return { ...ctx, relay, providers: new DeliveryProviders(ctx.db) };
}

/** The modules that work on orders; when several share a process, the first one here runs its periodic pass. */
const ORDER_MODULES = ['purchase', 'payment-worker', 'delivery-worker'];

/**
 * What every module that works on orders runs: the outbox relay. Each instance hands over what it
 * commits itself (`send`); the periodic pass for what was left behind runs once per process, as
 * before the modules had instances, so the one-process run does not poll the outbox three times.
 * Answers how to stop it.
 */
export function startOrderPlumbing(orders: PurchaseContext, moduleName: string): Stopper {
  const passRunner = ORDER_MODULES.find((name) => orders.config.modules.includes(name));
  if (passRunner === moduleName) {
    orders.relay.start(1000);
    orders.relay.nudge();
  }
  return () => orders.relay.stop();
}
