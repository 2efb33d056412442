import { defineSettings, milliseconds, wholeNumber, type SettingsOf } from '../../kernel/config.js';
import type { ModuleContext, Stopper } from '../../kernel/module.js';
import { OrderChanges } from './order-changes.js';
import { OutboxRelay } from './outbox.js';
import { DeliveryProviders } from './providers.js';

/**
 * The simulated latencies of payment and delivery. Read by every module that works on orders: the
 * workers wait them out, the sweeper judges from them when an order's job was lost. And how often
 * an order's event stream (GET /orders/{id}/events) sends a heartbeat and reads the order again:
 * often enough for proxies that close a silent connection (NGINX allows it 1 h), and at most 10
 * minutes, since it is also how late a change whose announcement was lost may show.
 */
export const purchaseSettings = defineSettings(
  {
    PAYMENT_DELAY_MS: milliseconds(2000),
    DELIVERY_SHIP_DELAY_MS: milliseconds(5000),
    DELIVERY_TRANSIT_DELAY_MS: milliseconds(5000),
    ORDER_EVENTS_HEARTBEAT_MS: wholeNumber(100, 600_000, 15_000, 'must be a whole number of milliseconds from 100 to 600000'),
  },
  (values) => ({
    delays: { paymentMs: values.PAYMENT_DELAY_MS, shipMs: values.DELIVERY_SHIP_DELAY_MS, transitMs: values.DELIVERY_TRANSIT_DELAY_MS },
    eventStreams: { heartbeatMs: values.ORDER_EVENTS_HEARTBEAT_MS },
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
  /** Tells an order's live followers, here and in the other processes, that it moved (order-changes.ts). */
  changes: OrderChanges;
}

/** The `setup` of every module that works on orders. */
export function purchaseContext(ctx: ModuleContext<PurchaseSettings>): PurchaseContext {
  const relay = new OutboxRelay(ctx.db, ctx.jobs, ctx.logger, ctx.config.database.kind === 'mysql');
  return { ...ctx, relay, providers: new DeliveryProviders(ctx.db), changes: new OrderChanges(ctx) };
}

/** The modules that work on orders; when several share a process, the first one here runs its periodic pass. */
const ORDER_MODULES = ['purchase', 'payment-worker', 'delivery-worker'];

/**
 * What every module that works on orders runs: the outbox relay. Each instance hands over what it
 * commits itself (`send`); the periodic pass for what was left behind runs once per process, as
 * before the modules had instances, so the one-process run does not poll the outbox three times.
 * Answers how to stop it, together with the instance's order changes (which ends its live
 * followers: the open event streams, in the purchase module).
 */
export function startOrderPlumbing(orders: PurchaseContext, moduleName: string): Stopper {
  const passRunner = ORDER_MODULES.find((name) => orders.config.modules.includes(name));
  if (passRunner === moduleName) {
    orders.relay.start(1000);
    orders.relay.nudge();
  }
  return async () => {
    orders.changes.stop();
    await orders.relay.stop();
  };
}
