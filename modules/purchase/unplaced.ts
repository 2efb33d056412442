import { Problem } from '../../kernel/problem.js';
import { catalogApi, type ReservedStock } from '../catalog/client.js';
import type { PurchaseContext } from './context.js';
import type { OrderItem } from './entities.js';

/*
 * What the request and the sweeper need to give up an order that could not be placed
 * (order-flow.ts: cancelUnplaced): what its log lines say, and what its lines were for.
 */

/** What a log line says about a failure: its real message, and the status (and code) it answers or carries. */
export function describeFailure(error: unknown): { err: string; status: number; code?: string } {
  if (error instanceof Problem) return { err: error.message, status: error.status, code: error.code };
  if (!(error instanceof Error)) return { err: String(error), status: 500 };
  const code = (error as Error & { code?: unknown }).code;
  return { err: error.message, status: 500, ...(typeof code === 'string' ? { code } : {}) };
}

/**
 * Lines written before the catalog priced them (titles empty, prices 0) get what the catalog lists
 * now, where it still lists the book, so the buyer sees what the cancelled order was for. Answers
 * nothing to describe when the catalog cannot say: the cancellation does not wait for it.
 */
export async function listedLines(ctx: PurchaseContext, items: OrderItem[]): Promise<ReservedStock | undefined> {
  const unpriced = items.filter((item) => item.title === '');
  if (unpriced.length === 0) return undefined;
  const listed = await catalogApi(ctx.clients)
    .booksByIds({ ids: unpriced.map((i) => i.bookId) })
    .catch(() => []);
  if (listed.length === 0) return undefined;
  const priced = listed.map((book) => ({ bookId: book.id, title: book.title, unitPriceCents: book.priceCents, quantity: items.find((i) => i.bookId === book.id)!.quantity, sellerId: book.sellerId }));
  const others = items.filter((item) => item.title !== '').map(({ bookId, title, unitPriceCents, quantity, sellerId }) => ({ bookId, title, unitPriceCents, quantity, sellerId }));
  return { currency: listed[0]!.currency, items: [...priced, ...others] };
}
