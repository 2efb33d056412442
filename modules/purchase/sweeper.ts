import type { ModuleContext, Stopper } from '../../kernel/module.js';
import { Problem } from '../../kernel/problem.js';
import { catalogApi } from '../catalog/client.js';
import { Order, OrderItem } from './entities.js';
import { compensate, recordEvent } from './lifecycle.js';
import { confirm, describeItems } from './orders.js';
import { QUEUE_OF, type JobName } from './queues.js';

/** How long an order may sit in `reserving` before we assume its request died with its process. */
export const RESERVING_GRACE_MS = 30_000;
/** How long past its expected time a step may lag before its job is handed to the queue again. */
export const STUCK_GRACE_MS = 2 * 60_000;

/**
 * Finishes what a crash interrupted. An order left `reserving` is completed (its reservation is
 * idempotent, so asking again is safe) or, when the stock is gone, cancelled with nothing held.
 * An order whose next job went missing (say, Redis lost its data) gets that job again; job ids are
 * per order and step, so a job that still exists is not doubled.
 */
export async function sweepOnce(ctx: ModuleContext, now = Date.now()): Promise<void> {
  await finishReserving(ctx, now);
  await redispatchStuck(ctx, now);
}

async function finishReserving(ctx: ModuleContext, now: number) {
  const em = ctx.db.em.fork();
  const stale = await em.find(Order, { status: 'reserving', createdAt: { $lt: new Date(now - RESERVING_GRACE_MS) } }, { limit: 50 });
  for (const order of stale) {
    const items = await em.find(OrderItem, { orderId: order.id }, { orderBy: { bookId: 'asc' } });
    const lines = items.map((i) => ({ bookId: i.bookId, quantity: i.quantity }));
    try {
      const reserved = await catalogApi(ctx.services).reserveStock({ orderId: order.id, buyerId: order.buyerId, items: lines });
      await confirm(ctx, em.fork(), order.id, reserved, order.deliveryCostCents, 'Order placed; stock reserved (completed after an interruption)');
      ctx.logger.info({ orderId: order.id }, 'sweeper completed an interrupted order');
    } catch (error) {
      if (!(error instanceof Problem) || error.status >= 500) {
        ctx.logger.warn({ orderId: order.id, err: (error as Error).message }, 'sweeper could not reach the catalog; will retry');
        continue;
      }
      await cancelUnplaced(ctx, order, items, error.detail);
      await compensate(ctx, order.id);
      ctx.logger.info({ orderId: order.id }, 'sweeper cancelled an interrupted order');
    }
  }
}

/**
 * Cancels an order that could not be placed. Its lines were written before the catalog priced
 * them (titles empty, prices 0): they get what the catalog lists now, where it still lists the book,
 * so the buyer sees what the cancelled order was for.
 */
async function cancelUnplaced(ctx: ModuleContext, order: Order, items: OrderItem[], why: string) {
  const unpriced = items.filter((item) => item.title === '');
  const listed = unpriced.length ? await catalogApi(ctx.services).booksByIds({ ids: unpriced.map((i) => i.bookId) }) : [];
  const priced = listed.map((book) => ({ bookId: book.id, title: book.title, unitPriceCents: book.priceCents, quantity: items.find((i) => i.bookId === book.id)!.quantity, sellerId: book.sellerId }));
  await ctx.db.em.fork().transactional(async (tx) => {
    const now = new Date();
    const moved = await tx.nativeUpdate(Order, { id: order.id, status: 'reserving' }, { status: 'cancelled', paymentStatus: 'voided', updatedAt: now });
    if (!moved) return;
    await recordEvent(tx, order.id, 'cancelled', `Could not be placed: ${why}`, now);
    if (priced.length === 0) return;
    await describeItems(tx, order.id, priced);
    const others = items.filter((item) => item.title !== '').map((i) => ({ unitPriceCents: i.unitPriceCents, quantity: i.quantity }));
    const subtotalCents = [...priced, ...others].reduce((sum, line) => sum + line.unitPriceCents * line.quantity, 0);
    await tx.nativeUpdate(Order, { id: order.id }, { subtotalCents, totalCents: subtotalCents + order.deliveryCostCents, currency: listed[0]!.currency });
  });
}

async function redispatchStuck(ctx: ModuleContext, now: number) {
  const em = ctx.db.em.fork();
  const { shipMs, transitMs, paymentMs } = ctx.config.delays;
  const checks: { job: JobName; where: object; lagMs: number }[] = [
    { job: 'pay', where: { status: 'pending_payment' }, lagMs: paymentMs },
    { job: 'ship', where: { status: 'paid' }, lagMs: shipMs },
    { job: 'deliver', where: { status: 'shipped' }, lagMs: transitMs },
    { job: 'compensate', where: { status: { $in: ['cancelled', 'payment_failed'] }, paymentStatus: 'captured' }, lagMs: 0 },
  ];
  for (const check of checks) {
    const stuck = await em.find(Order, { ...check.where, updatedAt: { $lt: new Date(now - check.lagMs - STUCK_GRACE_MS) } }, { limit: 100, fields: ['id'] });
    for (const order of stuck) {
      await ctx.jobs
        .add({ queue: QUEUE_OF[check.job], name: check.job, data: { orderId: order.id }, jobId: `${check.job}-${order.id}`, delayMs: 0 })
        .catch(() => undefined);
    }
  }
}

export function startSweeper(ctx: ModuleContext, intervalMs: number): Stopper {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweepOnce(ctx)
      .catch((error: unknown) => ctx.logger.warn({ err: (error as Error).message }, 'sweep failed'))
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return async () => clearInterval(timer);
}
