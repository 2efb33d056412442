import { placeholders } from '../../kernel/database.js';
import type { EntityManager } from '../../kernel/module.js';
import type { SqlTable } from '../../kernel/sql-table.js';
import type { ReservedItem } from '../catalog/client.js';
import type { PurchaseContext } from './context.js';
import type { Order, OrderItem, OrderStatus, PaymentStatus } from './entities.js';
import { enqueue } from './outbox.js';
import type { JobName } from './order-jobs.js';
import { ORDERS, ORDER_EVENTS, ORDER_ITEMS } from './rows.js';

/*
 * The statements an order's steps are written with. Which step runs, when and for whom is
 * order-flow.ts; these are hand-written SQL (README, "Data access") because every step is a
 * conditional update that must be atomic, and they run once or twice per order on the hot path.
 */

/** A piece of SQL and its `?` values, in order. */
export interface SqlPart {
  sql: string;
  params: unknown[];
}

/**
 * A value the database computes from the order's own row (an SQL expression over its columns, in
 * SQL that MySQL and SQLite share), so that a job need not read the order before changing it.
 */
export type FromOrder = SqlPart;

/** One move of an order: from the states it may leave, to one, with what else changes and the job it calls for. */
export interface Step {
  from: OrderStatus[];
  to: OrderStatus;
  detail?: string | FromOrder;
  changes?: { paymentStatus?: PaymentStatus; trackingNumber?: FromOrder };
  next?: { job: JobName; delayMs: number };
}

/** An order's money from its priced lines; sums beyond 2^31 are why the totals' columns are 64-bit. */
export function totals(lines: { unitPriceCents: number; quantity: number }[], deliveryCostCents: number) {
  const subtotalCents = lines.reduce((sum, line) => sum + line.unitPriceCents * line.quantity, 0);
  return { subtotalCents, deliveryCostCents, totalCents: subtotalCents + deliveryCostCents };
}

/** `a = <sql>, b = <sql>` and its values: the SET of an update, each value an SQL expression. */
function setOf<T extends object>(table: SqlTable<T>, set: [keyof T & string, SqlPart][]): SqlPart {
  return { sql: set.map(([property, value]) => `${table.column(property)} = ${value.sql}`).join(', '), params: set.flatMap(([, value]) => value.params) };
}

/** A value as a `?`. */
const param = (value: unknown): SqlPart => ({ sql: '?', params: [value] });

/** The order's lines as the catalog priced them: one statement, a CASE per column. */
export async function describeItems(tx: EntityManager, orderId: string, items: ReservedItem[]): Promise<void> {
  const { orderId: orderColumn, bookId } = ORDER_ITEMS.c;
  const byBook = (pick: (line: ReservedItem) => string | number): SqlPart => ({
    sql: `case ${bookId} ${items.map(() => 'when ? then ?').join(' ')} end`,
    params: items.flatMap((line) => [line.bookId, pick(line)]),
  });
  const set = setOf<OrderItem>(ORDER_ITEMS, [['title', byBook((line) => line.title)], ['unitPriceCents', byBook((line) => line.unitPriceCents)], ['sellerId', byBook((line) => line.sellerId)]]);
  await tx.execute(
    `update ${ORDER_ITEMS.name} set ${set.sql} where ${orderColumn} = ? and ${bookId} in (${placeholders(items.length)})`,
    [...set.params, orderId, ...items.map((line) => line.bookId)],
    'run',
  );
}

const EVENT = ['orderId', 'status', 'detail', 'at'] as const;
const INSERT_EVENT = ORDER_EVENTS.insert(EVENT);

/**
 * Appends to an order's history, inside the caller's transaction. Whoever commits it then announces
 * the move (`ctx.changes.announce`), so that live followers of the order (its event stream) hear of it.
 */
export async function recordEvent(tx: EntityManager, orderId: string, status: OrderStatus, detail: string | null | FromOrder, at: Date): Promise<void> {
  if (detail === null || typeof detail === 'string') {
    await tx.execute(INSERT_EVENT, ORDER_EVENTS.values(EVENT, { orderId, status, detail, at }), 'run');
    return;
  }
  // The detail is computed from the order's row: the event is selected from it, column for column.
  const selected: Record<(typeof EVENT)[number], SqlPart> = { orderId: { sql: ORDERS.c.id, params: [] }, status: param(status), detail, at: param(at) };
  await tx.execute(
    `insert into ${ORDER_EVENTS.name} (${ORDER_EVENTS.list(EVENT)}) select ${EVENT.map((p) => selected[p].sql).join(', ')} from ${ORDERS.name} where ${ORDERS.c.id} = ?`,
    [...EVENT.flatMap((p) => selected[p].params), orderId],
    'run',
  );
}

const order = ORDERS.c;

/** The SET of a step: its status, what else it changes, and when. */
function assignments(step: Step, now: Date): SqlPart {
  const set: [keyof Order & string, SqlPart][] = [['status', param(step.to)]];
  if (step.changes?.paymentStatus) set.push(['paymentStatus', param(step.changes.paymentStatus)]);
  if (step.changes?.trackingNumber) set.push(['trackingNumber', step.changes.trackingNumber]);
  set.push(['updatedAt', param(now)]);
  return setOf<Order>(ORDERS, set);
}

/**
 * Takes one step, if the order is in a state it may leave: one transaction of three statements, the
 * conditional update, its event, and the next job's outbox row, which this process hands to the
 * queue once committed, and then announces the move to the order's followers. Answers whether this
 * call moved the order; a job that runs twice finds the step taken and does nothing.
 */
export async function transition(ctx: PurchaseContext, em: EntityManager, orderId: string, step: Step): Promise<boolean> {
  const moved = await em.transactional(async (tx) => {
    const now = new Date();
    const set = assignments(step, now);
    const updated = await tx.execute<{ affectedRows: number }>(
      `update ${ORDERS.name} set ${set.sql} where ${order.id} = ? and ${order.status} in (${placeholders(step.from.length)})`,
      [...set.params, orderId, ...step.from],
      'run',
    );
    if (updated.affectedRows !== 1) return false;
    await recordEvent(tx, orderId, step.to, step.detail ?? null, now);
    return step.next ? enqueue(tx, step.next.job, orderId, step.next.delayMs) : true;
  });
  if (moved === false) return false;
  if (typeof moved === 'object') ctx.relay.send(moved);
  ctx.changes.announce(orderId);
  return true;
}
