/*
 * The purchase module as the rest of the store may use it: the worker roles (jobs/) run the order's
 * jobs with what this file exports, and import nothing else of the module, as other modules import
 * only a module's client.ts. No other module calls purchase, so it has no internal API.
 */

/** The tables the workers' jobs write (orders, the outbox, the gateway's ledger). */
export { PURCHASE_ENTITIES } from './entities.js';
/** The settings, instance (`setup`) and background work of every module that works on orders. */
export { purchaseContext, purchaseSettings, startOrderPlumbing, type PurchaseContext } from './context.js';
/** The handler of the payment and delivery jobs (order-flow.ts has which job moves an order where). */
export { jobHandler } from './order-flow.js';
/** The queues the workers take jobs from, and their retry policies. */
export { DELIVERIES, PAYMENTS, PURCHASE_QUEUES } from './order-jobs.js';
