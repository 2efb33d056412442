import type { EntityManager, ModuleContext } from '../../kernel/module.js';
import { Problem } from '../../kernel/problem.js';
import { catalogApi, type ReservedStock } from '../catalog/client.js';
import { Order, type OrderItem } from './entities.js';
import { compensate, recordEvent } from './lifecycle.js';
import { describeItems, totals } from './lines.js';
import { enqueue, outboxRelay, type Outgoing } from './outbox.js';

/** Why an order failed on our side, as its buyer reads it: never the database's own words. */
export const FAILED_ON_OUR_SIDE = 'something went wrong on our side; nothing was charged';

/** What a log line says about a failure: its real message, and the status (and code) it answers or carries. */
export function describeFailure(error: unknown): { err: string; status: number; code?: string } {
  if (error instanceof Problem) return { err: error.message, status: error.status, code: error.code };
  if (!(error instanceof Error)) return { err: String(error), status: 500 };
  const code = (error as Error & { code?: unknown }).code;
  return { err: error.message, status: 500, ...(typeof code === 'string' ? { code } : {}) };
}

/** An order being given up: its id and what its delivery costs, for its totals. */
export interface UnplacedOrder {
  id: string;
  deliveryCostCents: number;
}

/**
 * Lines written before the catalog priced them (titles empty, prices 0) get what the catalog lists
 * now, where it still lists the book, so the buyer sees what the cancelled order was for. Answers
 * nothing to describe when the catalog cannot say: the cancellation does not wait for it.
 */
export async function listedLines(ctx: ModuleContext, items: OrderItem[]): Promise<ReservedStock | undefined> {
  const unpriced = items.filter((item) => item.title === '');
  if (unpriced.length === 0) return undefined;
  const listed = await catalogApi(ctx.services)
    .booksByIds({ ids: unpriced.map((i) => i.bookId) })
    .catch(() => []);
  if (listed.length === 0) return undefined;
  const priced = listed.map((book) => ({ bookId: book.id, title: book.title, unitPriceCents: book.priceCents, quantity: items.find((i) => i.bookId === book.id)!.quantity, sellerId: book.sellerId }));
  const others = items.filter((item) => item.title !== '').map(({ bookId, title, unitPriceCents, quantity, sellerId }) => ({ bookId, title, unitPriceCents, quantity, sellerId }));
  return { currency: listed[0]!.currency, items: [...priced, ...others] };
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

/**
 * Cancels an order that could not be placed and gives back whatever stock it holds: now, and by a
 * queued job should the catalog not answer now (the release is idempotent, keyed by the order).
 * The order leaves `reserving` before any stock goes back, so stock is never released under an
 * order that someone else confirmed. `lines`: the lines as reserved or listed, when known; if
 * writing them fails, the order is cancelled without them rather than left holding its stock.
 * Answers whether this call cancelled it.
 */
export async function cancelUnplaced(ctx: ModuleContext, order: UnplacedOrder, why: string, lines?: ReservedStock): Promise<boolean> {
  const em = ctx.db.em.fork();
  const job = await cancelIn(em, order, why, lines).catch((error: unknown) => {
    if (!lines) throw error;
    ctx.logger.warn({ orderId: order.id, ...describeFailure(error) }, 'could not describe the lines of an order being cancelled; cancelling it without them');
    return cancelIn(em, order, why, undefined);
  });
  if (!job) return false;
  outboxRelay(ctx).send(job);
  await compensate(ctx, order.id).catch((error: unknown) => ctx.logger.warn({ orderId: order.id, ...describeFailure(error) }, 'compensation deferred to the job'));
  return true;
}
