import { DeadlockException, UniqueConstraintViolationException, raw } from '@mikro-orm/core';
import type { EntityManager } from '../../kernel/module.js';
import { Problem, notFound } from '../../kernel/problem.js';
import { Book, Reservation } from './entities.js';

export interface ReservedItem {
  bookId: number;
  title: string;
  unitPriceCents: number;
  quantity: number;
  sellerId: number;
}

export const insufficientStock = (bookId: number) =>
  new Problem(409, 'insufficient_stock', `Not enough copies of book ${bookId} are in stock.`);

function view(reservation: Reservation): ReservedItem {
  const { bookId, title, unitPriceCents, quantity, sellerId } = reservation;
  return { bookId, title, unitPriceCents, quantity, sellerId };
}

/** One line per book, in id order, so that concurrent orders lock books in the same order. */
function combine(items: { bookId: number; quantity: number }[]) {
  const byBook = new Map<number, number>();
  for (const item of items) byBook.set(item.bookId, (byBook.get(item.bookId) ?? 0) + item.quantity);
  return [...byBook].map(([bookId, quantity]) => ({ bookId, quantity })).sort((a, b) => a.bookId - b.bookId);
}

async function existing(em: EntityManager, orderId: string): Promise<ReservedItem[] | undefined> {
  const held = await em.fork().find(Reservation, { orderId }, { orderBy: { bookId: 'asc' } });
  if (held.length === 0) return undefined;
  if (held.some((r) => r.status === 'released')) throw new Problem(409, 'invalid_state', `The stock of order ${orderId} was already given back.`);
  return held.map(view);
}

async function reserveOnce(em: EntityManager, orderId: string, lines: { bookId: number; quantity: number }[]) {
  return em.transactional(async (tx) => {
    // Claim the order first: a concurrent call for the same order waits here, then finds it taken.
    await tx.insertMany(Reservation, lines.map((line) => ({ orderId, bookId: line.bookId, quantity: line.quantity, status: 'held' as const, createdAt: new Date() })));
    for (const line of lines) {
      const taken = await tx
        .createQueryBuilder(Book)
        .update({ stock: raw('stock - ?', [line.quantity]) })
        .where({ id: line.bookId, deletedAt: null, stock: { $gte: line.quantity } })
        .execute('run');
      if (taken.affectedRows === 1) continue;
      const listed = await tx.count(Book, { id: line.bookId, deletedAt: null });
      throw listed ? insufficientStock(line.bookId) : notFound(`book ${line.bookId}`);
    }
    const books = await tx.find(Book, { id: { $in: lines.map((l) => l.bookId) } });
    const reserved: ReservedItem[] = [];
    for (const line of lines) {
      const book = books.find((b) => b.id === line.bookId)!;
      await tx.nativeUpdate(Reservation, { orderId, bookId: line.bookId }, { title: book.title, unitPriceCents: book.priceCents, sellerId: book.sellerId });
      reserved.push({ bookId: book.id, title: book.title, unitPriceCents: book.priceCents, quantity: line.quantity, sellerId: book.sellerId });
    }
    return reserved;
  });
}

/**
 * Takes stock for every line of an order, or for none: each book's stock drops only if enough is
 * left (`stock >= quantity` in the same statement), so parallel buyers can never oversell.
 * Idempotent by order: a second call answers the first call's reservation.
 */
export async function reserveStock(em: EntityManager, orderId: string, items: { bookId: number; quantity: number }[]): Promise<ReservedItem[]> {
  const lines = combine(items);
  for (let attempt = 1; ; attempt++) {
    const already = await existing(em, orderId);
    if (already) return already;
    try {
      return await reserveOnce(em.fork(), orderId, lines);
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) continue;
      if (error instanceof DeadlockException && attempt < 5) continue;
      throw error;
    }
  }
}

/** Gives an order's stock back, once: only reservations still held are released. */
export async function releaseStock(em: EntityManager, orderId: string): Promise<{ released: number }> {
  return em.transactional(async (tx) => {
    const held = await tx.find(Reservation, { orderId, status: 'held' });
    let released = 0;
    for (const reservation of held) {
      const claimed = await tx.nativeUpdate(Reservation, { orderId, bookId: reservation.bookId, status: 'held' }, { status: 'released', releasedAt: new Date() });
      if (claimed !== 1) continue;
      await tx.createQueryBuilder(Book).update({ stock: raw('stock + ?', [reservation.quantity]) }).where({ id: reservation.bookId }).execute('run');
      released += reservation.quantity;
    }
    return { released };
  });
}
