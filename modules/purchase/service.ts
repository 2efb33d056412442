import { createHash, randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Caller } from '../../kernel/auth-context.js';
import type { EntityManager } from '../../kernel/module.js';
import { Problem, notFound } from '../../kernel/problem.js';
import type { SqlRow } from '../../kernel/sql-table.js';
import { MAX_BOOK_ID, catalogApi, type ReservedStock } from '../catalog/client.js';
import type { PurchaseContext } from './context.js';
import { Order, OrderEvent, OrderItem } from './entities.js';
import { tokenizeAccount, tokenizeCard } from './gateway.js';
import { FAILED_ON_OUR_SIDE, PLACED_DETAIL, cancelByBuyer, cancelUnplaced, confirm } from './order-flow.js';
import { totals } from './order-writes.js';
import type { ProviderView } from './providers.js';
import { ORDERS, ORDER_ITEMS } from './rows.js';
import type { OrderRequest, OrderView, PaymentInput } from './schemas.js';
import { describeFailure } from './unplaced.js';

/*
 * What the purchase routes call, in their order: the delivery providers, placing an order, reading
 * and listing one's orders, cancelling one, and one's sales. What happens to an order after it is
 * placed, and who moves it, is order-flow.ts.
 */

/** The delivery providers, cheapest first. */
export function listDeliveryProviders(ctx: PurchaseContext): Promise<ProviderView[]> {
  return ctx.providers.all();
}

/** Orders a client may see: every state but the internal `reserving`. */
const VISIBLE = { $ne: 'reserving' } as const;

/** An order as its buyer reads it. */
function orderView(order: Order, items: OrderItem[], events: OrderEvent[]): OrderView {
  return {
    id: order.id,
    status: order.status as OrderView['status'],
    items: items.map(({ bookId, title, unitPriceCents, quantity, sellerId }) => ({ bookId, title, unitPriceCents, quantity, sellerId })),
    subtotalCents: order.subtotalCents,
    deliveryCostCents: order.deliveryCostCents,
    totalCents: order.totalCents,
    currency: order.currency,
    deliveryProvider: { id: order.deliveryProviderId, name: order.deliveryProviderName },
    shippingAddress: order.shippingAddress,
    payment: {
      method: order.paymentMethod,
      status: order.paymentStatus,
      ...(order.paymentBrand ? { brand: order.paymentBrand } : {}),
      ...(order.paymentLast4 ? { last4: order.paymentLast4 } : {}),
    },
    ...(order.trackingNumber ? { trackingNumber: order.trackingNumber } : {}),
    events: events.map((e) => ({ status: e.status, at: e.at.toISOString(), ...(e.detail ? { detail: e.detail } : {}) })),
    createdAt: order.createdAt.toISOString(),
    updatedAt: order.updatedAt.toISOString(),
  };
}

/** Orders with their items and events, two queries for the whole page. */
async function views(em: EntityManager, orders: Order[]): Promise<OrderView[]> {
  if (orders.length === 0) return [];
  const ids = orders.map((o) => o.id);
  const [items, events] = await Promise.all([
    em.find(OrderItem, { orderId: { $in: ids } }, { orderBy: { bookId: 'asc' } }),
    em.find(OrderEvent, { orderId: { $in: ids } }, { orderBy: { id: 'asc' } }),
  ]);
  return orders.map((o) => orderView(o, items.filter((i) => i.orderId === o.id), events.filter((e) => e.orderId === o.id)));
}

/** An order read back fresh (not from the identity map), after a write changed it. */
async function orderById(em: EntityManager, id: string): Promise<OrderView> {
  const order = await em.findOne(Order, { id, status: VISIBLE }, { refresh: true });
  if (!order) throw notFound('order');
  return (await views(em, [order]))[0]!;
}

/** The buyer's orders, newest first. */
export async function listOrders(em: EntityManager, buyerId: number, page: number, limit: number) {
  const [orders, total] = await em.findAndCount(Order, { buyerId, status: VISIBLE }, { orderBy: { createdAt: 'desc', id: 'desc' }, limit, offset: (page - 1) * limit });
  return { items: await views(em, orders), page, limit, total };
}

/** The buyer, or an administrator, may read an order; everyone else learns nothing, not even that it exists. */
export async function readOrder(em: EntityManager, caller: Caller, id: string): Promise<OrderView> {
  const order = await em.findOne(Order, { id, status: VISIBLE });
  if (!order || (caller.role !== 'admin' && order.buyerId !== caller.id)) throw notFound('order');
  return (await views(em, [order]))[0]!;
}

/**
 * Places an order, in three short steps, each durable before the next (order-flow.ts has the rest of
 * its life):
 *
 *   1. the draft (writeDraft): the lines, book and quantity only, then the order in `reserving`;
 *   2. the catalog's reservation, idempotent by order id, which is also what judges unknown books
 *      (404), one's own (400) and stock (409): nothing is read before it. A definite "no" deletes
 *      the draft; any other failure leaves it to the sweeper;
 *   3. the confirmation (order-flow.ts: confirm), one transaction with the payment request in the
 *      outbox. Should it fail, the order is cancelled and its stock given back before the request
 *      answers (abandon).
 *
 * Prices and sellers come from the catalog, never from the client. This is the store's hottest
 * write, and each SQL round trip costs about as much CPU as the rest of the request, so it is
 * hand-written SQL without the unit of work, and the 201 answer is built from what the request
 * wrote, not read back. A crash after step 1 leaves a `reserving` order nobody sees, which the
 * sweeper completes or cancels; one after step 3, an outbox row the relay's periodic pass hands
 * over. So an order is never lost, and stock is never held for an order that does not exist.
 */
export async function placeOrder(ctx: PurchaseContext, em: EntityManager, buyer: Caller, input: OrderRequest, idempotencyKey?: string): Promise<{ order: OrderView; replayed: boolean }> {
  const hash = requestHash(input);
  // A request that waited on an earlier one with its key, which then failed and left nothing, tries itself.
  for (let attempt = 1; ; attempt++) {
    if (idempotencyKey) {
      const previous = await replay(em, buyer.id, idempotencyKey, hash);
      if (previous) return { order: previous, replayed: true };
    }
    const placed = await placeOnce(ctx, em, buyer, input, hash, idempotencyKey);
    if (placed) return { order: placed, replayed: false };
    if (attempt >= 5) throw new Problem(503, 'service_unavailable', 'The order could not be placed; retry shortly.', undefined, { 'Retry-After': '1' });
  }
}

/** One attempt at the three steps; answers undefined when another request with the same Idempotency-Key got there first. */
async function placeOnce(ctx: PurchaseContext, em: EntityManager, buyer: Caller, input: OrderRequest, hash: string, idempotencyKey?: string): Promise<OrderView | undefined> {
  const provider = await ctx.providers.find(input.deliveryProviderId);
  if (!provider) throw new Problem(400, 'validation_failed', 'Unknown delivery provider.', [{ path: 'deliveryProviderId', message: 'is not a delivery provider; see GET /api/purchase/delivery-providers' }]);
  const lines = bookLines(input);
  const draft = draftOf(buyer, input, provider, hash, idempotencyKey);
  if (!(await writeDraft(em, draft, lines))) return undefined;

  let reserved: ReservedStock;
  try {
    reserved = await catalogApi(ctx.clients).reserveStock({ orderId: draft.id, buyerId: buyer.id, items: lines });
  } catch (error) {
    if (error instanceof Problem && error.status < 500) await deleteDraft(em, draft.id);
    throw error;
  }
  let confirmedAt: Date | undefined;
  try {
    confirmedAt = await confirm(ctx, em, draft.id, reserved, provider.costCents);
  } catch (error) {
    await abandon(ctx, draft, reserved, error);
    throw error;
  }
  // Confirmed by the sweeper meanwhile (the request stalled for its whole grace period): read it back.
  return confirmedAt ? placedView(draft, reserved, confirmedAt) : orderById(em.fork(), draft.id);
}


/** A request with an Idempotency-Key we have seen: the same order, or 422 if the body differs. */
async function replay(em: EntityManager, buyerId: number, key: string, hash: string): Promise<OrderView | undefined> {
  for (let waited = 0; waited < 10_000; waited += 100) {
    const order = await em.fork().findOne(Order, { buyerId, idempotencyKey: key });
    if (!order) return undefined;
    if (order.requestHash !== hash) throw new Problem(422, 'idempotency_key_reused', 'This Idempotency-Key was used with a different request.');
    if (order.status !== 'reserving') return orderById(em.fork(), order.id);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Problem(503, 'service_unavailable', 'The first request with this Idempotency-Key is still being processed; retry shortly.', undefined, { 'Retry-After': '2' });
}

type Line = { bookId: number; quantity: number };

/** The request's lines as catalog ids; one that cannot be a book id is answered 404 before anything is written. */
function bookLines(input: OrderRequest): Line[] {
  return input.items.map((item) => {
    const { bookId } = item;
    if (typeof bookId !== 'number' || !Number.isInteger(bookId) || bookId < 1 || bookId > MAX_BOOK_ID) throw notFound(`book ${String(bookId)}`);
    return { bookId, quantity: item.quantity };
  });
}

/** An order as step 1 writes it: its buyer, delivery and payment; the catalog's prices come with the confirmation. */
type Draft = Omit<Order, 'status' | 'subtotalCents' | 'totalCents' | 'currency' | 'trackingNumber' | 'sweepAttempts' | 'updatedAt'>;

function draftOf(buyer: Caller, input: OrderRequest, provider: ProviderView, hash: string, idempotencyKey: string | undefined): Draft {
  return {
    id: randomUUID(),
    buyerId: buyer.id,
    deliveryCostCents: provider.costCents,
    deliveryProviderId: provider.id,
    deliveryProviderName: provider.name,
    shippingAddress: input.shippingAddress,
    ...paymentFields(input.payment),
    paymentStatus: 'pending',
    idempotencyKey: idempotencyKey ?? null,
    requestHash: hash,
    createdAt: new Date(),
  };
}

/** The draft's lines: book and quantity; the catalog's title, price and seller come with the confirmation. */
const DRAFT_LINE = ['orderId', 'bookId', 'title', 'unitPriceCents', 'quantity', 'sellerId'] as const;
/** The draft order: `reserving`, no prices yet, its payment as a token. */
const DRAFT_ORDER = [
  'id', 'buyerId', 'status', 'subtotalCents', 'deliveryCostCents', 'totalCents', 'currency', 'deliveryProviderId', 'deliveryProviderName', 'shippingAddress',
  'paymentMethod', 'paymentStatus', 'paymentBrand', 'paymentLast4', 'paymentToken', 'idempotencyKey', 'requestHash', 'createdAt', 'updatedAt',
] as const;
const INSERT_DRAFT_ORDER = ORDERS.insert(DRAFT_ORDER);
const DELETE_LINES = `delete from ${ORDER_ITEMS.name} where ${ORDER_ITEMS.c.orderId} = ?`;
const DELETE_DRAFT = `delete from ${ORDERS.name} where ${ORDERS.c.id} = ? and ${ORDERS.c.status} = 'reserving'`;

function draftRow(draft: Draft): Record<(typeof DRAFT_ORDER)[number], unknown> {
  return { ...draft, status: 'reserving', subtotalCents: 0, totalCents: draft.deliveryCostCents, currency: '', shippingAddress: JSON.stringify(draft.shippingAddress), updatedAt: draft.createdAt };
}

/**
 * Step 1, before any stock is held: the lines, then the order, each one statement committed on its
 * own. Lines first, so that the sweeper never finds a `reserving` order without them; a crash
 * between the two leaves only lines that no order names, which nothing reads (every read starts
 * from an order). Answers false when another request with this Idempotency-Key wrote its order first.
 */
async function writeDraft(em: EntityManager, draft: Draft, lines: Line[]): Promise<boolean> {
  const draftLines = lines.map((line) => ({ orderId: draft.id, ...line, title: '', unitPriceCents: 0, sellerId: 0 }));
  await em.execute(ORDER_ITEMS.insert(DRAFT_LINE, lines.length), ORDER_ITEMS.values(DRAFT_LINE, ...draftLines), 'run');
  try {
    await em.execute(INSERT_DRAFT_ORDER, ORDERS.values(DRAFT_ORDER, draftRow(draft)), 'run');
    return true;
  } catch (error) {
    await em.execute(DELETE_LINES, [draft.id], 'run');
    if (error instanceof UniqueConstraintViolationException && draft.idempotencyKey) return false;
    throw error;
  }
}

/** Deletes a draft the catalog refused before holding any stock: its lines, and the order while still `reserving`. */
async function deleteDraft(em: EntityManager, orderId: string) {
  await em.transactional(async (tx) => {
    await tx.execute(DELETE_LINES, [orderId], 'run');
    await tx.execute(DELETE_DRAFT, [orderId], 'run');
  });
}

/**
 * The confirmation failed after the catalog reserved the stock: the order is cancelled and its stock
 * given back now, instead of held for the sweeper's grace period. Cancelling is conditional on the
 * order still being `reserving`, so a confirmation that did commit (its answer lost) keeps its stock.
 * If even that fails (the database is gone), the order stays `reserving` and the sweeper finishes it.
 */
async function abandon(ctx: PurchaseContext, draft: Draft, reserved: ReservedStock, error: unknown): Promise<void> {
  ctx.logger.warn({ orderId: draft.id, ...describeFailure(error) }, 'order could not be confirmed after its stock was reserved; cancelling it');
  await cancelUnplaced(ctx, draft, FAILED_ON_OUR_SIDE, reserved).catch((failure: unknown) =>
    ctx.logger.warn({ orderId: draft.id, ...describeFailure(failure) }, 'could not cancel it either; the sweeper will'),
  );
}

/** The 201 answer from what this request wrote, with no read back. */
function placedView(draft: Draft, reserved: ReservedStock, confirmedAt: Date): OrderView {
  const order: Order = { ...draft, status: 'pending_payment', ...totals(reserved.items, draft.deliveryCostCents), currency: reserved.currency, trackingNumber: null, sweepAttempts: 0, updatedAt: confirmedAt };
  const event = { orderId: draft.id, id: 0, status: 'pending_payment', detail: PLACED_DETAIL, at: confirmedAt };
  return orderView(order, reserved.items.map((item) => ({ ...item, orderId: draft.id })), [event]);
}

/** The same request, whatever the key order of its JSON; card numbers enter only as brand and last 4. */
function requestHash(input: OrderRequest): string {
  const payment = input.payment.method === 'card' ? { ...input.payment, cardNumber: tokenizeCard(input.payment.cardNumber).last4, cvc: '' } : input.payment;
  const canonical = JSON.stringify({ ...input, payment }, (_key, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b))) : value,
  );
  return createHash('sha256').update(canonical).digest('hex');
}

function paymentFields(payment: PaymentInput) {
  if (payment.method === 'card') {
    const card = tokenizeCard(payment.cardNumber);
    return { paymentMethod: 'card' as const, paymentToken: card.token, paymentBrand: card.brand, paymentLast4: card.last4 };
  }
  return { paymentMethod: payment.method, paymentToken: tokenizeAccount(payment.method), paymentBrand: null, paymentLast4: null };
}

/** The buyer cancels one of their orders (order-flow.ts: cancelByBuyer); 409 once it has shipped or ended. */
export async function cancelOrder(ctx: PurchaseContext, em: EntityManager, caller: Caller, id: string): Promise<OrderView> {
  const order = await em.findOne(Order, { id, buyerId: caller.id, status: VISIBLE });
  if (!order) throw notFound('order');
  if (!(await cancelByBuyer(ctx, em, id))) throw new Problem(409, 'invalid_state', `An order that is ${order.status.replace('_', ' ')} can no longer be cancelled.`);
  return orderById(em.fork(), id);
}

const item = ORDER_ITEMS.c;
const order = ORDERS.c;
const SALE_LINE = ['orderId', 'bookId', 'title', 'unitPriceCents', 'quantity'] as const;
const SALE_ORDER = ['status', 'currency', 'createdAt'] as const;
const SALES = `from ${ORDER_ITEMS.name} i join ${ORDERS.name} o on o.${order.id} = i.${item.orderId} where i.${item.sellerId} = ? and o.${order.status} <> 'reserving'`;
const READ_SALES = `select ${ORDER_ITEMS.list(SALE_LINE, 'i')}, ${ORDERS.list(SALE_ORDER, 'o')} ${SALES} order by o.${order.createdAt} desc, i.${item.orderId}, i.${item.bookId} limit ? offset ?`;

/** Order lines of the seller's books, newest order first, with the order's state. */
export async function listSales(em: EntityManager, sellerId: number, page: number, limit: number) {
  const connection = em.getConnection();
  const [rows, [count]] = await Promise.all([
    connection.execute<SqlRow[]>(READ_SALES, [sellerId, limit, (page - 1) * limit]),
    connection.execute<{ total: number }[]>(`select count(*) as total ${SALES}`, [sellerId]),
  ]);
  return { items: rows.map(saleView), page, limit, total: Number(count?.total ?? 0) };
}

function saleView(row: SqlRow) {
  const { orderId, bookId, title, unitPriceCents, quantity } = ORDER_ITEMS.fromRow(row, SALE_LINE);
  const { status, currency, createdAt } = ORDERS.fromRow(row, SALE_ORDER);
  return { orderId, orderStatus: status, bookId, title, unitPriceCents, quantity, currency, orderedAt: createdAt.toISOString() };
}
