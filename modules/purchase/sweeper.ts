import type { EntityManager, Stopper } from '../../kernel/module.js';
import { Problem } from '../../kernel/problem.js';
import { catalogApi, type ReservedStock } from '../catalog/client.js';
import type { PurchaseContext } from './context.js';
import { Order, OrderItem } from './entities.js';
import { FAILED_ON_OUR_SIDE, PLACED_DETAIL, awaitedJobs, cancelUnplaced, confirm } from './order-flow.js';
import { jobRequest } from './outbox.js';
import { QUEUE_OF } from './order-jobs.js';
import { describeFailure, listedLines } from './unplaced.js';

/** How long an order may sit in `reserving` before we assume its request died with its process. */
export const RESERVING_GRACE_MS = 30_000;
/**
 * How many passes may try to finish one interrupted order before the sweeper cancels it and gives
 * its stock back: a failure that outlasts them (the order cannot be written, say) is not passing.
 */
export const MAX_SWEEP_ATTEMPTS = 5;
/** How long past its expected time a step may lag before its job is handed to the queue again. */
export const STUCK_GRACE_MS = 2 * 60_000;

/**
 * Finishes what a crash interrupted. An order left `reserving` is completed (its reservation is
 * idempotent, so asking again is safe) or, when the stock is gone, cancelled with nothing held;
 * one that still cannot be finished after MAX_SWEEP_ATTEMPTS passes is cancelled, its stock given back.
 * An order whose next job went missing (say, Redis lost its data) or gave up (its attempts ran out
 * while the database was down) gets that job again; job ids are per order and step, so a job that
 * is still queued or running is not doubled.
 */
export async function sweepOnce(ctx: PurchaseContext, now = Date.now()): Promise<void> {
  await finishReserving(ctx, now);
  await redispatchStuck(ctx, now);
}

/**
 * Oldest first, each order on its own: one that cannot be finished (a poison order) costs its own
 * attempt and never stops the others of the same pass.
 */
async function finishReserving(ctx: PurchaseContext, now: number) {
  const em = ctx.db.em.fork();
  const stale = await em.find(Order, { status: 'reserving', createdAt: { $lt: new Date(now - RESERVING_GRACE_MS) } }, { orderBy: { createdAt: 'asc', id: 'asc' }, limit: 50 });
  for (const order of stale) {
    await finishOne(ctx, em, order).catch((error: unknown) => ctx.logger.warn({ orderId: order.id, ...describeFailure(error) }, 'sweeper could not handle an interrupted order; will retry'));
  }
}

/**
 * Counts this attempt on the order's row, from the count this sweeper read, so that of several
 * sweepers (one per purchase process) one makes each attempt. Answers its number, or undefined
 * when another sweeper took it or the order left `reserving`.
 */
async function countAttempt(em: EntityManager, order: Order): Promise<number | undefined> {
  const attempt = order.sweepAttempts + 1;
  const counted = await em.nativeUpdate(Order, { id: order.id, status: 'reserving', sweepAttempts: order.sweepAttempts }, { sweepAttempts: attempt });
  return counted === 1 ? attempt : undefined;
}

async function finishOne(ctx: PurchaseContext, em: EntityManager, order: Order) {
  const attempt = await countAttempt(em, order);
  if (attempt === undefined) return;
  const items = await em.find(OrderItem, { orderId: order.id }, { orderBy: { bookId: 'asc' } });
  let reserved: ReservedStock | undefined;
  try {
    reserved = await catalogApi(ctx.clients).reserveStock({ orderId: order.id, buyerId: order.buyerId, items: items.map((i) => ({ bookId: i.bookId, quantity: i.quantity })) });
    const confirmed = await confirm(ctx, em.fork(), order.id, reserved, order.deliveryCostCents, `${PLACED_DETAIL} (completed after an interruption)`);
    if (confirmed) ctx.logger.info({ orderId: order.id, attempt }, 'sweeper completed an interrupted order');
  } catch (error) {
    await notFinished(ctx, order, items, { attempt, step: reserved ? 'confirm' : 'reserve', reserved }, error);
  }
}

/**
 * The catalog's definite "no" (unknown book, one's own, no stock, stock already given back) cancels
 * at once. Anything else is tried again at the next pass, up to MAX_SWEEP_ATTEMPTS; then the order
 * is cancelled and its stock given back, whatever keeps failing.
 */
async function notFinished(ctx: PurchaseContext, order: Order, items: OrderItem[], tried: { attempt: number; step: 'reserve' | 'confirm'; reserved: ReservedStock | undefined }, error: unknown) {
  if (error instanceof Problem && error.status < 500) {
    if (await cancelUnplaced(ctx, order, error.detail, await listedLines(ctx, items))) ctx.logger.info({ orderId: order.id, ...describeFailure(error) }, 'sweeper cancelled an interrupted order');
    return;
  }
  const failure = { orderId: order.id, attempt: tried.attempt, maxAttempts: MAX_SWEEP_ATTEMPTS, step: tried.step, ...describeFailure(error) };
  if (tried.attempt < MAX_SWEEP_ATTEMPTS) {
    ctx.logger.warn(failure, `sweeper could not ${tried.step} an interrupted order: ${failure.err}; will retry`);
    return;
  }
  ctx.logger.error(failure, `sweeper gave up on an interrupted order after ${tried.attempt} attempts (${tried.step}: ${failure.err}); cancelling it`);
  await cancelUnplaced(ctx, order, FAILED_ON_OUR_SIDE, tried.reserved ?? (await listedLines(ctx, items)));
}

async function redispatchStuck(ctx: PurchaseContext, now: number) {
  const em = ctx.db.em.fork();
  for (const check of awaitedJobs(ctx.settings.delays)) {
    const stuck = await em.find(Order, { ...check.where, updatedAt: { $lt: new Date(now - check.lagMs - STUCK_GRACE_MS) } }, { limit: 100, fields: ['id'] });
    for (const order of stuck) {
      // Redispatched, not added: the step's job may have used up its attempts while the database was down.
      await ctx.jobs
        .redispatch(jobRequest(QUEUE_OF[check.job], check.job, order.id, 0))
        .catch((error: unknown) => ctx.logger.warn({ orderId: order.id, job: check.job, ...describeFailure(error) }, 'sweeper could not hand a stuck order its job again; will retry'));
    }
  }
}

export function startSweeper(ctx: PurchaseContext, intervalMs: number): Stopper {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweepOnce(ctx)
      .catch((error: unknown) => ctx.logger.warn(describeFailure(error), 'sweep failed'))
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return async () => clearInterval(timer);
}
