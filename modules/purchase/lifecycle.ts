import { randomBytes } from 'node:crypto';
import type { EntityManager, ModuleContext } from '../../kernel/module.js';
import { PermanentJobError, type JobContext } from '../../kernel/queues.js';
import { catalogApi } from '../catalog/client.js';
import { Order, OrderEvent, type OrderStatus, type PaymentStatus } from './entities.js';
import { TransientGatewayError, charge, refund } from './gateway.js';
import { enqueue, outboxRelay } from './outbox.js';
import type { JobName } from './queues.js';

/**
 * The order's life after it is placed, driven by jobs, never by the client:
 * pending_payment → paid → shipped → delivered; pending_payment → payment_failed;
 * pending_payment | paid → cancelled. Every step is a conditional update from the states it may
 * leave, so a job that runs twice finds the step taken and does nothing.
 */
interface Step {
  from: OrderStatus[];
  to: OrderStatus;
  detail?: string;
  changes?: { paymentStatus?: PaymentStatus; trackingNumber?: string };
  next?: { job: JobName; delayMs: number };
}

export async function transition(em: EntityManager, orderId: string, step: Step): Promise<boolean> {
  return em.transactional(async (tx) => {
    const moved = await tx.nativeUpdate(Order, { id: orderId, status: { $in: step.from } }, { status: step.to, ...step.changes, updatedAt: new Date() });
    if (moved !== 1) return false;
    tx.create(OrderEvent, { orderId, status: step.to, detail: step.detail ?? null, at: new Date() });
    if (step.next) enqueue(tx, step.next.job, orderId, step.next.delayMs);
    return true;
  });
}

/** Gives back the stock and any captured payment of an order that will not be fulfilled. Safe to repeat. */
export async function compensate(ctx: ModuleContext, orderId: string): Promise<void> {
  await catalogApi(ctx.services).releaseStock({ orderId });
  const em = ctx.db.em.fork();
  if (await refund(em, orderId)) {
    // Whatever the order last said: a capture can land after a cancel marked the payment voided.
    await em.nativeUpdate(Order, { id: orderId, paymentStatus: { $in: ['captured', 'pending', 'voided'] } }, { paymentStatus: 'refunded', updatedAt: new Date() });
  } else {
    await em.nativeUpdate(Order, { id: orderId, paymentStatus: 'pending' }, { paymentStatus: 'voided', updatedAt: new Date() });
  }
}

async function loadOrder(ctx: ModuleContext, orderId: string): Promise<Order> {
  const order = await ctx.db.em.fork().findOne(Order, { id: orderId });
  if (!order) throw new PermanentJobError(`order ${orderId} does not exist`);
  return order;
}

async function pay(ctx: ModuleContext, job: JobContext): Promise<void> {
  const order = await loadOrder(ctx, job.data.orderId);
  if (order.status === 'payment_failed' || order.status === 'cancelled') return compensate(ctx, order.id);
  if (order.status !== 'pending_payment') return;

  const em = ctx.db.em.fork();
  let outcome: 'captured' | 'declined' | 'failed';
  try {
    outcome = await charge(em, { orderId: order.id, token: order.paymentToken, amountCents: order.totalCents, latencyMs: ctx.config.delays.paymentMs });
  } catch (error) {
    if (!(error instanceof TransientGatewayError) || !job.lastAttempt) throw error;
    outcome = 'failed';
  }

  if (outcome === 'captured') {
    const paid = await transition(em, order.id, {
      from: ['pending_payment'],
      to: 'paid',
      detail: `Payment of ${order.totalCents} ${order.currency} captured`,
      changes: { paymentStatus: 'captured' },
      next: { job: 'ship', delayMs: ctx.config.delays.shipMs },
    });
    // Cancelled while the gateway was working: the money goes straight back.
    if (!paid) await compensate(ctx, order.id);
  } else {
    await transition(em, order.id, {
      from: ['pending_payment'],
      to: 'payment_failed',
      detail: outcome === 'declined' ? 'The card was declined' : 'The payment could not be processed',
      changes: { paymentStatus: outcome === 'declined' ? 'declined' : 'failed' },
    });
    await compensate(ctx, order.id);
  }
  outboxRelay(ctx).nudge();
}

function trackingNumber(providerId: string): string {
  return `${providerId.toUpperCase()}-${randomBytes(6).toString('hex').toUpperCase()}`;
}

async function ship(ctx: ModuleContext, job: JobContext): Promise<void> {
  const order = await loadOrder(ctx, job.data.orderId);
  const shipped = await transition(ctx.db.em.fork(), order.id, {
    from: ['paid'],
    to: 'shipped',
    detail: `Handed to ${order.deliveryProviderName}`,
    changes: { trackingNumber: trackingNumber(order.deliveryProviderId) },
    next: { job: 'deliver', delayMs: ctx.config.delays.transitMs },
  });
  if (shipped) outboxRelay(ctx).nudge();
}

async function deliver(ctx: ModuleContext, job: JobContext): Promise<void> {
  await transition(ctx.db.em.fork(), job.data.orderId, { from: ['shipped'], to: 'delivered', detail: 'Delivered to the shipping address' });
}

async function compensateJob(ctx: ModuleContext, job: JobContext): Promise<void> {
  await compensate(ctx, job.data.orderId);
}

const HANDLERS: Record<JobName, (ctx: ModuleContext, job: JobContext) => Promise<void>> = { pay, compensate: compensateJob, ship, deliver };

/** The handler for one queue: dispatches by job name. */
export function jobHandler(ctx: ModuleContext) {
  return async (job: JobContext) => {
    const handler = HANDLERS[job.name as JobName];
    if (!handler) throw new PermanentJobError(`unknown job ${job.name}`);
    await handler(ctx, job);
  };
}
