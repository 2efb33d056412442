import { DeadlockException, UniqueConstraintViolationException, raw } from '@mikro-orm/core';
import { placeholders } from '../../kernel/database.js';
import type { EntityManager } from '../../kernel/module.js';
import { Problem, notFound } from '../../kernel/problem.js';
import type { SqlRow } from '../../kernel/sql-table.js';
import { Book, Reservation } from './entities.js';
import { BOOKS, RESERVATIONS } from './rows.js';
import { CURRENCY } from './service.js';

export interface ReservedItem {
  bookId: number;
  title: string;
  unitPriceCents: number;
  quantity: number;
  sellerId: number;
}

/** What a reservation answers: each book as it was reserved, and the store's one currency. */
export interface ReservedStock {
  currency: string;
  items: ReservedItem[];
}

export interface StockRequest {
  orderId: string;
  /** The buyer, so that nobody reserves their own book; in the problem, `items.N.bookId` is the caller's line N. */
  buyerId?: number;
  items: { bookId: number; quantity: number }[];
}

export const insufficientStock = (bookId: number) =>
  new Problem(409, 'insufficient_stock', `Not enough copies of book ${bookId} are in stock.`);

/** The problem for an order line naming one of the buyer's own listings. */
export const cannotBuyOwnBook = (index: number) =>
  new Problem(400, 'validation_failed', 'You cannot buy your own book.', [{ path: `items.${index}.bookId`, message: 'is one of your own listings' }]);

type Line = { bookId: number; quantity: number };

/** One line per book, in id order, so that concurrent orders lock books in the same order. */
function combine(items: Line[]): Line[] {
  const byBook = new Map<number, number>();
  for (const item of items) byBook.set(item.bookId, (byBook.get(item.bookId) ?? 0) + item.quantity);
  return [...byBook].map(([bookId, quantity]) => ({ bookId, quantity })).sort((a, b) => a.bookId - b.bookId);
}

/** Reserved in this call or an earlier one for the same order; refused once the order's stock went back. */
async function existing(em: EntityManager, orderId: string): Promise<ReservedItem[] | undefined> {
  const held = await em.fork().find(Reservation, { orderId }, { orderBy: { bookId: 'asc' } });
  if (held.length === 0) return undefined;
  if (held.some((r) => r.status === 'released')) throw new Problem(409, 'invalid_state', `The stock of order ${orderId} was already given back.`);
  return held.map(({ bookId, title, unitPriceCents, quantity, sellerId }) => ({ bookId, title, unitPriceCents, quantity, sellerId }));
}

/**
 * One statement for every line: `stock >= n` per book, never the buyer's own, never a deleted one.
 * The rows are matched by primary key in id order, so concurrent orders lock books in one order.
 * Each book's version moves with its stock, so a seller's edit read before this is refused (412).
 */
async function takeStock(tx: EntityManager, lines: Line[], buyerId: number | undefined): Promise<boolean> {
  const { id, stock, version, sellerId, deletedAt } = BOOKS.c;
  const cases = lines.map(() => 'when ? then ?').join(' ');
  const enough = lines.map(() => `(${id} = ? and ${stock} >= ?)`).join(' or ');
  const pairs = lines.flatMap((l) => [l.bookId, l.quantity]);
  const notOwn = buyerId === undefined ? '' : `and ${sellerId} <> ?`;
  const taken = await tx.execute<{ affectedRows: number }>(
    `update ${BOOKS.name} set ${stock} = ${stock} - case ${id} ${cases} end, ${version} = ${version} + 1
      where ${id} in (${placeholders(lines.length)}) and ${deletedAt} is null ${notOwn} and (${enough})`,
    [...pairs, ...lines.map((l) => l.bookId), ...(buyerId === undefined ? [] : [buyerId]), ...pairs],
    'run',
  );
  return taken.affectedRows === lines.length;
}

/** What a reservation keeps of each book: its price and seller as of now. */
const PRICED = ['id', 'title', 'priceCents', 'sellerId'] as const;
const HELD = ['orderId', 'bookId', 'quantity', 'title', 'unitPriceCents', 'sellerId', 'status', 'createdAt'] as const;

/** Prices and sellers as of this reservation, kept with it so a second call answers the same. */
async function holdFor(tx: EntityManager, orderId: string, lines: Line[]): Promise<ReservedItem[]> {
  const rows = await tx.execute<SqlRow[]>(`select ${BOOKS.list(PRICED)} from ${BOOKS.name} where ${BOOKS.c.id} in (${placeholders(lines.length)})`, lines.map((l) => l.bookId));
  const books = rows.map((row) => BOOKS.fromRow(row, PRICED));
  const reserved = lines.map((line) => {
    const book = books.find((b) => b.id === line.bookId)!;
    return { bookId: line.bookId, title: book.title, unitPriceCents: book.priceCents, quantity: line.quantity, sellerId: book.sellerId };
  });
  const now = new Date();
  const held = reserved.map((r) => ({ orderId, ...r, status: 'held', createdAt: now }));
  await tx.execute(RESERVATIONS.insert(HELD, held.length), RESERVATIONS.values(HELD, ...held), 'run');
  return reserved;
}

/** Thrown inside the transaction when a line could not be taken, so that it rolls back before we look why. */
class NotTaken extends Error {}

/**
 * Why the stock could not be taken, judged after the rollback, line by line in the caller's order:
 * an unknown or deleted book (404), the buyer's own (400), too few copies (409). Undefined when
 * nothing is wrong any more (the stock changed meanwhile): the caller tries again.
 */
async function refusal(em: EntityManager, request: StockRequest): Promise<Problem | undefined> {
  const ids = request.items.map((i) => i.bookId);
  const books = await em.fork().find(Book, { id: { $in: ids } }, { fields: ['id', 'stock', 'sellerId', 'deletedAt'] });
  const wanted = combine(request.items);
  for (const [index, item] of request.items.entries()) {
    const book = books.find((b) => b.id === item.bookId);
    if (!book || book.deletedAt) return notFound(`book ${item.bookId}`);
    if (book.sellerId === request.buyerId) return cannotBuyOwnBook(index);
    if (book.stock < wanted.find((l) => l.bookId === item.bookId)!.quantity) return insufficientStock(item.bookId);
  }
  return undefined;
}

async function reserveOnce(em: EntityManager, orderId: string, lines: Line[], buyerId: number | undefined): Promise<ReservedItem[]> {
  return em.fork().transactional(async (tx) => {
    if (!(await takeStock(tx, lines, buyerId))) throw new NotTaken();
    return holdFor(tx, orderId, lines);
  });
}

/**
 * Takes stock for every line of an order, or for none: each book's stock drops only if enough is
 * left (`stock >= quantity` in the same statement), so parallel buyers can never oversell.
 *
 * Idempotent by order without reading first: the reservation rows are keyed by the order, so when
 * a second call for the same order (a retry, the sweeper) inserts them, the key is taken, its
 * transaction rolls back (stock included) and it answers the first call's reservation. A refusal
 * also looks for an earlier reservation first: the order may hold the very copies it now misses.
 */
export async function reserveStock(em: EntityManager, request: StockRequest): Promise<ReservedStock> {
  const lines = combine(request.items);
  for (let attempt = 1; ; attempt++) {
    try {
      return { currency: CURRENCY, items: await reserveOnce(em, request.orderId, lines, request.buyerId) };
    } catch (error) {
      const lost = error instanceof UniqueConstraintViolationException || error instanceof NotTaken;
      const already = lost ? await existing(em, request.orderId) : undefined;
      if (already) return { currency: CURRENCY, items: already };
      const problem = error instanceof NotTaken ? await refusal(em, request) : undefined;
      if (problem) throw problem;
      const retryable = lost || error instanceof DeadlockException;
      if (!retryable) throw error;
      if (attempt >= 5) throw error instanceof NotTaken ? insufficientStock(lines[0]!.bookId) : error;
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
      // The version moves too: a seller's edit read before the copies came back is refused (412).
      await tx.createQueryBuilder(Book).update({ stock: raw('stock + ?', [reservation.quantity]), version: raw('version + 1') }).where({ id: reservation.bookId }).execute('run');
      released += reservation.quantity;
    }
    return { released };
  });
}
