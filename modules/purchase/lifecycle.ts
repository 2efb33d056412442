import { randomBytes } from 'node:crypto';
import { placeholders } from '../../kernel/database.js';
import type { EntityManager, ModuleContext } from '../../kernel/module.js';
import { PermanentJobError, type JobContext } from '../../kernel/queues.js';
import { catalogApi } from '../catalog/client.js';
import { Order, type OrderStatus, type PaymentStatus } from './entities.js';
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
  detail?: string | FromOrder;
  changes?: { paymentStatus?: PaymentStatus; trackingNumber?: FromOrder };
  next?: { job: JobName; delayMs: number };
}

/**
 * A value the database computes from the order's own row (an SQL expression over its columns, in
 * SQL that MySQL and SQLite share), so that a job need not read the order before changing it.
 */
interface FromOrder {
  sql: string;
  params: string[];
}

/** Appends to an order's history, inside the caller's transaction. */
export async function recordEvent(tx: EntityManager, orderId: string, status: OrderStatus, detail: string | null | FromOrder, at: Date): Promise<void> {
  if (detail === null || typeof detail === 'string') {
    await tx.execute('insert into purchase_order_events (order_id, status, detail, at) values (?, ?, ?, ?)', [orderId, status, detail, at], 'run');
    return;
  }
  await tx.execute(`insert into purchase_order_events (order_id, status, detail, at) select id, ?, ${detail.sql}, ? from purchase_orders where id = ?`, [status, ...detail.params, at, orderId], 'run');
}

function assignments(step: Step): { sql: string; params: string[] } {
  const set: { sql: string; params: string[] }[] = [{ sql: 'status = ?', params: [step.to] }];
  if (step.changes?.paymentStatus) set.push({ sql: 'payment_status = ?', params: [step.changes.paymentStatus] });
  if (step.changes?.trackingNumber) set.push({ sql: `tracking_number = ${step.changes.trackingNumber.sql}`, params: step.changes.trackingNumber.params });
  return { sql: set.map((s) => s.sql).join(', '), params: set.flatMap((s) => s.params) };
}

/**
 * One transaction of three statements: the conditional update, its event, and the next job's outbox
 * row, which this process hands to the queue once committed.
 */
export async function transition(ctx: ModuleContext, em: EntityManager, orderId: string, step: Step): Promise<boolean> {
  const set = assignments(step);
  const moved = await em.transactional(async (tx) => {
    const now = new Date();
    const updated = await tx.execute<{ affectedRows: number }>(
      `update purchase_orders set ${set.sql}, updated_at = ? where id = ? and status in (${placeholders(step.from.length)})`,
      [...set.params, now, orderId, ...step.from],
      'run',
    );
    if (updated.affectedRows !== 1) return false;
    await recordEvent(tx, orderId, step.to, step.detail ?? null, now);
    return step.next ? enqueue(tx, step.next.job, orderId, step.next.delayMs) : true;
  });
  if (typeof moved === 'object') outboxRelay(ctx).send(moved);
  return moved !== false;
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

/** What the payment needs of an order, read in one statement without the ORM's bookkeeping. */
interface OrderToPay {
  id: string;
  status: OrderStatus;
  paymentToken: string;
  totalCents: number;
  currency: string;
}

interface OrderRow {
  status: OrderStatus;
  payment_token: string;
  total_cents: number;
  currency: string;
}

async function loadOrder(ctx: ModuleContext, orderId: string): Promise<OrderToPay> {
  const [row] = await ctx.db.em
    .fork()
    .execute<OrderRow[]>('select status, payment_token, total_cents, currency from purchase_orders where id = ?', [orderId]);
  if (!row) throw new PermanentJobError(`order ${orderId} does not exist`);
  return {
    id: orderId,
    status: row.status,
    paymentToken: row.payment_token,
    totalCents: Number(row.total_cents),
    currency: row.currency,
  };
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
    const paid = await transition(ctx, em, order.id, {
      from: ['pending_payment'],
      to: 'paid',
      detail: `Payment of ${order.totalCents} ${order.currency} captured`,
      changes: { paymentStatus: 'captured' },
      next: { job: 'ship', delayMs: ctx.config.delays.shipMs },
    });
    // Cancelled while the gateway was working: the money goes straight back.
    if (!paid) await compensate(ctx, order.id);
  } else {
    await transition(ctx, em, order.id, {
      from: ['pending_payment'],
      to: 'payment_failed',
      detail: outcome === 'declined' ? 'The card was declined' : 'The payment could not be processed',
      changes: { paymentStatus: outcome === 'declined' ? 'declined' : 'failed' },
    });
    await compensate(ctx, order.id);
  }
}

/** The provider's id, upper-cased, and 12 random hex digits, e.g. ENVIA-3F09A1C2B4D6. */
function trackingNumber(): FromOrder {
  return { sql: `concat(upper(delivery_provider_id), '-', ?)`, params: [randomBytes(6).toString('hex').toUpperCase()] };
}

/** Ships without reading the order first: the provider's name and id come from its row, in the same statements. */
async function ship(ctx: ModuleContext, job: JobContext): Promise<void> {
  await transition(ctx, ctx.db.em.fork(), job.data.orderId, {
    from: ['paid'],
    to: 'shipped',
    detail: { sql: `concat('Handed to ', delivery_provider_name)`, params: [] },
    changes: { trackingNumber: trackingNumber() },
    next: { job: 'deliver', delayMs: ctx.config.delays.transitMs },
  });
}

async function deliver(ctx: ModuleContext, job: JobContext): Promise<void> {
  await transition(ctx, ctx.db.em.fork(), job.data.orderId, { from: ['shipped'], to: 'delivered', detail: 'Delivered to the shipping address' });
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
