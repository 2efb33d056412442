import { randomBytes } from 'node:crypto';
import type { EntityManager } from '../../kernel/module.js';
import { PermanentJobError, type JobContext } from '../../kernel/queues.js';
import type { SqlRow } from '../../kernel/sql-table.js';
import { catalogApi, type ReservedStock } from '../catalog/client.js';
import type { PurchaseContext } from './context.js';
import { Order, type OrderStatus, type PaymentStatus } from './entities.js';
import { TransientGatewayError, charge, refund } from './gateway.js';
import { describeItems, recordEvent, totals, transition, type FromOrder } from './order-writes.js';
import { enqueue, type Outgoing } from './outbox.js';
import type { JobName } from './order-jobs.js';
import { ORDERS } from './rows.js';
import { describeFailure } from './unplaced.js';

/*
 * An order's life, in one place: its states, every move between them, and who makes each move.
 *
 *   reserving        internal: the order is written, its stock not yet held; no client ever sees it
 *   pending_payment  placed: stock held, payment asked for
 *   paid → shipped → delivered
 *   payment_failed, cancelled: final; stock and any captured money are given back (compensate)
 *
 *   move                                  function          made by
 *   (nothing) → reserving                 placeOrder,       the request (POST /orders): the draft
 *                                         service.ts
 *   reserving → (deleted)                 deleteDraft,      the request, when the catalog refuses the lines
 *                                         service.ts        before it holds any stock
 *   reserving → pending_payment           confirm           the request, once the catalog reserved the stock;
 *                                                           the sweeper, finishing an order whose request died
 *   reserving → cancelled                 cancelUnplaced    the request whose confirmation failed; the sweeper,
 *                                                           when the catalog says no or after MAX_SWEEP_ATTEMPTS
 *   pending_payment → paid                pay               the payment job, once the gateway captured
 *   pending_payment → payment_failed      pay               the payment job: declined, or failed at its last attempt
 *   paid → shipped                        ship              the delivery job, DELIVERY_SHIP_DELAY_MS after payment
 *   shipped → delivered                   deliver           the delivery job, DELIVERY_TRANSIT_DELAY_MS later
 *   pending_payment | paid → cancelled    cancelByBuyer     the buyer (POST /orders/{id}/cancel)
 *
 * Every move is a conditional update from the states it may leave, with its event and the outbox
 * row of the job it calls for, in one transaction (order-writes.ts), so a move made twice, by a job
 * that runs twice or by the request and the sweeper at once, happens once. Once committed, every
 * move is announced to the order's live followers (order-changes.ts), in whichever process made
 * it. `compensate` is not a move: it gives back an order's stock and captured money, and is safe
 * to repeat. A job that went missing is handed to the queue again by the sweeper (sweeper.ts),
 * from awaitedJobs.
 */

/** Every job of an order's life is about one order: its id is the job's whole payload (outbox.ts writes it). */
export type OrderJob = JobContext<{ orderId: string }>;

/** The event a placed order starts with; the 201 answer shows it without reading it back, so both use this. */
export const PLACED_DETAIL = 'Order placed; stock reserved';

const CONFIRMED = ['status', 'subtotalCents', 'deliveryCostCents', 'totalCents', 'currency', 'updatedAt'] as const;
const CONFIRM = `update ${ORDERS.name} set ${ORDERS.assign(CONFIRMED)} where ${ORDERS.c.id} = ? and ${ORDERS.c.status} = 'reserving'`;

/**
 * reserving → pending_payment, with the reserved prices, and asks for payment: one transaction of
 * four statements. The order's conditional update goes first and locks it, so the request and the
 * sweeper can never both confirm one order. Answers when, or undefined if the order had already
 * left `reserving`.
 */
export async function confirm(
  ctx: PurchaseContext,
  em: EntityManager,
  orderId: string,
  reserved: ReservedStock,
  deliveryCostCents: number,
  detail = PLACED_DETAIL,
): Promise<Date | undefined> {
  const sum = totals(reserved.items, deliveryCostCents);
  const confirmed = await em.transactional(async (tx) => {
    const now = new Date();
    const confirmation = { status: 'pending_payment', ...sum, currency: reserved.currency, updatedAt: now };
    const moved = await tx.execute<{ affectedRows: number }>(CONFIRM, [...ORDERS.values(CONFIRMED, confirmation), orderId], 'run');
    if (moved.affectedRows !== 1) return undefined;
    await describeItems(tx, orderId, reserved.items);
    await recordEvent(tx, orderId, 'pending_payment', detail, now);
    return { at: now, payment: await enqueue(tx, 'pay', orderId) };
  });
  if (!confirmed) return undefined;
  ctx.relay.send(confirmed.payment);
  ctx.changes.announce(orderId);
  return confirmed.at;
}

/** Why an order failed on our side, as its buyer reads it: never the database's own words. */
export const FAILED_ON_OUR_SIDE = 'something went wrong on our side; nothing was charged';

/** An order being given up: its id and what its delivery costs, for its totals. */
export interface UnplacedOrder {
  id: string;
  deliveryCostCents: number;
}

/**
 * reserving → cancelled, and gives back whatever stock the order holds: now, and by a queued job
 * should the catalog not answer now (the release is idempotent, keyed by the order). The order
 * leaves `reserving` before any stock goes back, so stock is never released under an order that
 * someone else confirmed. `lines`: the lines as reserved or listed, when known; if writing them
 * fails, the order is cancelled without them rather than left holding its stock. Answers whether
 * this call cancelled it.
 */
export async function cancelUnplaced(ctx: PurchaseContext, order: UnplacedOrder, why: string, lines?: ReservedStock): Promise<boolean> {
  const em = ctx.db.em.fork();
  const job = await cancelIn(em, order, why, lines).catch((error: unknown) => {
    if (!lines) throw error;
    ctx.logger.warn({ orderId: order.id, ...describeFailure(error) }, 'could not describe the lines of an order being cancelled; cancelling it without them');
    return cancelIn(em, order, why, undefined);
  });
  if (!job) return false;
  ctx.relay.send(job);
  ctx.changes.announce(order.id);
  await compensate(ctx, order.id).catch((error: unknown) => ctx.logger.warn({ orderId: order.id, ...describeFailure(error) }, 'compensation deferred to the job'));
  return true;
}

/**
 * One transaction: the order from `reserving` to cancelled (payment voided), its event, its lines
 * and totals when known, and the job that gives its stock back. Undefined when it had already left
 * `reserving` (placed or cancelled by someone else), and then nothing is touched.
 */
async function cancelIn(em: EntityManager, order: UnplacedOrder, why: string, lines: ReservedStock | undefined): Promise<Outgoing | undefined> {
  return em.transactional(async (tx) => {
    const now = new Date();
    const moved = await tx.nativeUpdate(Order, { id: order.id, status: 'reserving' }, { status: 'cancelled', paymentStatus: 'voided', updatedAt: now });
    if (!moved) return undefined;
    await recordEvent(tx, order.id, 'cancelled', `Could not be placed: ${why}`.slice(0, 300), now);
    if (lines?.items.length) {
      await describeItems(tx, order.id, lines.items);
      const { subtotalCents, totalCents } = totals(lines.items, order.deliveryCostCents);
      await tx.nativeUpdate(Order, { id: order.id }, { subtotalCents, totalCents, currency: lines.currency });
    }
    return enqueue(tx, 'compensate', order.id);
  });
}

/** What the payment needs of an order, read in one statement without the ORM's bookkeeping. */
const TO_PAY = ['status', 'paymentToken', 'totalCents', 'currency'] as const;
const READ_TO_PAY = `select ${ORDERS.list(TO_PAY)} from ${ORDERS.name} where ${ORDERS.c.id} = ?`;

async function orderToPay(ctx: PurchaseContext, orderId: string) {
  const [row] = await ctx.db.em.fork().execute<SqlRow[]>(READ_TO_PAY, [orderId]);
  if (!row) throw new PermanentJobError(`order ${orderId} does not exist`);
  return { id: orderId, ...ORDERS.fromRow(row, TO_PAY) };
}

/** pending_payment → paid, or → payment_failed: the payment job. A cancelled or failed order gets its stock and money back instead. */
async function pay(ctx: PurchaseContext, job: OrderJob): Promise<void> {
  const order = await orderToPay(ctx, job.data.orderId);
  if (order.status === 'payment_failed' || order.status === 'cancelled') return compensate(ctx, order.id);
  if (order.status !== 'pending_payment') return;

  const em = ctx.db.em.fork();
  let outcome: 'captured' | 'declined' | 'failed';
  try {
    outcome = await charge(em, { orderId: order.id, token: order.paymentToken, amountCents: order.totalCents, latencyMs: ctx.settings.delays.paymentMs });
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
      next: { job: 'ship', delayMs: ctx.settings.delays.shipMs },
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
  return { sql: `concat(upper(${ORDERS.c.deliveryProviderId}), '-', ?)`, params: [randomBytes(6).toString('hex').toUpperCase()] };
}

/** paid → shipped: the delivery job. Without reading the order first: the provider's name and id come from its row, in the same statements. */
async function ship(ctx: PurchaseContext, job: OrderJob): Promise<void> {
  await transition(ctx, ctx.db.em.fork(), job.data.orderId, {
    from: ['paid'],
    to: 'shipped',
    detail: { sql: `concat('Handed to ', ${ORDERS.c.deliveryProviderName})`, params: [] },
    changes: { trackingNumber: trackingNumber() },
    next: { job: 'deliver', delayMs: ctx.settings.delays.transitMs },
  });
}

/** shipped → delivered: the delivery job. */
async function deliver(ctx: PurchaseContext, job: OrderJob): Promise<void> {
  await transition(ctx, ctx.db.em.fork(), job.data.orderId, { from: ['shipped'], to: 'delivered', detail: 'Delivered to the shipping address' });
}

/** pending_payment | paid → cancelled: the buyer. Answers whether the order was still theirs to cancel. */
export async function cancelByBuyer(ctx: PurchaseContext, em: EntityManager, orderId: string): Promise<boolean> {
  const cancelled = await transition(ctx, em, orderId, { from: ['pending_payment', 'paid'], to: 'cancelled', detail: 'Cancelled by the buyer', next: { job: 'compensate', delayMs: 0 } });
  if (!cancelled) return false;
  // Give stock and money back now; the queued job repeats it harmlessly, or does it if this fails.
  await compensate(ctx, orderId).catch((error: unknown) => ctx.logger.warn({ orderId, ...describeFailure(error) }, 'compensation deferred to the job'));
  return true;
}

/** Gives back the stock and any captured payment of an order that will not be fulfilled. Safe to repeat. */
export async function compensate(ctx: PurchaseContext, orderId: string): Promise<void> {
  await catalogApi(ctx.clients).releaseStock({ orderId });
  const em = ctx.db.em.fork();
  if (await refund(em, orderId)) {
    // Whatever the order last said: a capture can land after a cancel marked the payment voided.
    await em.nativeUpdate(Order, { id: orderId, paymentStatus: { $in: ['captured', 'pending', 'voided'] } }, { paymentStatus: 'refunded', updatedAt: new Date() });
  } else {
    await em.nativeUpdate(Order, { id: orderId, paymentStatus: 'pending' }, { paymentStatus: 'voided', updatedAt: new Date() });
  }
}

/**
 * The job each state waits for, and how long it normally takes: past that and STUCK_GRACE_MS, the
 * sweeper hands the job to the queue again. `compensate` is awaited by a final order whose money
 * is still captured.
 */
export function awaitedJobs(delays: { paymentMs: number; shipMs: number; transitMs: number }): AwaitedJob[] {
  return [
    { job: 'pay', where: { status: 'pending_payment' }, lagMs: delays.paymentMs },
    { job: 'ship', where: { status: 'paid' }, lagMs: delays.shipMs },
    { job: 'deliver', where: { status: 'shipped' }, lagMs: delays.transitMs },
    { job: 'compensate', where: { status: { $in: ['cancelled', 'payment_failed'] }, paymentStatus: 'captured' }, lagMs: 0 },
  ];
}

interface AwaitedJob {
  job: JobName;
  where: { status: OrderStatus | { $in: OrderStatus[] }; paymentStatus?: PaymentStatus };
  lagMs: number;
}

async function compensateJob(ctx: PurchaseContext, job: OrderJob): Promise<void> {
  await compensate(ctx, job.data.orderId);
}

const HANDLERS: Record<JobName, (ctx: PurchaseContext, job: OrderJob) => Promise<void>> = { pay, compensate: compensateJob, ship, deliver };

/** The handler for one queue: dispatches by job name. */
export function jobHandler(ctx: PurchaseContext) {
  return async (job: OrderJob) => {
    const handler = HANDLERS[job.name as JobName];
    if (!handler) throw new PermanentJobError(`unknown job ${job.name}`);
    await handler(ctx, job);
  };
}
