import { createHash, randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Caller } from '../../kernel/auth-context.js';
import { dateFrom } from '../../kernel/database.js';
import type { EntityManager, ModuleContext } from '../../kernel/module.js';
import { Problem, notFound } from '../../kernel/problem.js';
import { catalogApi, type ReservedStock } from '../catalog/client.js';
import { Order, OrderEvent, OrderItem } from './entities.js';
import { tokenizeAccount, tokenizeCard } from './gateway.js';
import { compensate, recordEvent, transition } from './lifecycle.js';
import { describeItems, totals } from './lines.js';
import { enqueue, outboxRelay } from './outbox.js';
import { deliveryProvider, type ProviderView } from './providers.js';
import type { OrderRequest, OrderView, PaymentInput } from './schemas.js';
import { FAILED_ON_OUR_SIDE, cancelUnplaced, describeFailure } from './unplaced.js';

/*
 * Placing an order is the store's hottest write, and each SQL round trip costs about as much CPU as
 * everything else the request does, so the path is plain SQL (`em.execute`, which runs inside the
 * em's transaction when there is one) with no unit of work, in three steps that are each durable
 * before the next:
 *
 *   1. the draft: the lines (book and quantity only), then the order in `reserving`, two
 *      single-statement commits (see writeDraft for why that order is safe);
 *   2. the catalog's reservation, idempotent by order id, which also judges unknown books (404),
 *      one's own (400) and stock (409): nothing is read before it;
 *   3. the confirmation, one transaction: the order to `pending_payment` with the reserved prices,
 *      the lines' titles, prices and sellers, its event, its outbox row. The outbox row is handed
 *      to the queue by this process right after the commit (OutboxRelay.send).
 *
 * The 201 answer is built from what the request wrote, not read back. A crash after step 1 leaves a
 * `reserving` order that nobody sees, which the sweeper completes (step 2 again is safe) or cancels;
 * a crash after step 3 leaves an outbox row that the relay's periodic pass hands over. A step 3 that
 * fails (the database refuses it) cancels the order and gives its stock back before the request
 * answers. So an order is never lost and stock is never held for an order that does not exist.
 */

const VISIBLE = { $ne: 'reserving' } as const;

/** The event a placed order starts with; the 201 answer shows it without reading it back, so both use this. */
const PLACED_DETAIL = 'Order placed; stock reserved';

export function orderView(order: Order, items: OrderItem[], events: OrderEvent[]): OrderView {
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

export async function orderById(em: EntityManager, id: string): Promise<OrderView> {
  const order = await em.findOne(Order, { id, status: VISIBLE }, { refresh: true });
  if (!order) throw notFound('order');
  return (await views(em, [order]))[0]!;
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

/** The largest id a book can have (an unsigned INT); ids of any other shape match no book. */
const MAX_BOOK_ID = 4_294_967_295;

type Line = { bookId: number; quantity: number };

/** The request's lines as catalog ids; one that cannot be a book id is answered 404 before anything is written. */
function bookLines(input: OrderRequest): Line[] {
  return input.items.map((item) => {
    const { bookId } = item;
    if (typeof bookId !== 'number' || !Number.isInteger(bookId) || bookId < 1 || bookId > MAX_BOOK_ID) throw notFound(`book ${String(bookId)}`);
    return { bookId, quantity: item.quantity };
  });
}

/**
 * Moves a reserved order to pending_payment with the reserved prices, and asks for payment: one
 * transaction of four statements. The order's conditional update goes first and locks it, so the
 * request and the sweeper can never both confirm one order. Answers when, or undefined if the
 * order had already left `reserving`.
 */
export async function confirm(
  ctx: ModuleContext,
  em: EntityManager,
  orderId: string,
  reserved: ReservedStock,
  deliveryCostCents: number,
  detail = PLACED_DETAIL,
): Promise<Date | undefined> {
  const sum = totals(reserved.items, deliveryCostCents);
  const confirmed = await em.transactional(async (tx) => {
    const now = new Date();
    const moved = await tx.execute<{ affectedRows: number }>(
      `update purchase_orders set status = 'pending_payment', subtotal_cents = ?, delivery_cost_cents = ?, total_cents = ?, currency = ?, updated_at = ? where id = ? and status = 'reserving'`,
      [sum.subtotalCents, sum.deliveryCostCents, sum.totalCents, reserved.currency, now, orderId],
      'run',
    );
    if (moved.affectedRows !== 1) return undefined;
    await describeItems(tx, orderId, reserved.items);
    await recordEvent(tx, orderId, 'pending_payment', detail, now);
    return { at: now, payment: await enqueue(tx, 'pay', orderId) };
  });
  if (!confirmed) return undefined;
  outboxRelay(ctx).send(confirmed.payment);
  return confirmed.at;
}

async function forget(em: EntityManager, orderId: string) {
  await em.transactional(async (tx) => {
    await tx.execute('delete from purchase_order_items where order_id = ?', [orderId], 'run');
    await tx.execute(`delete from purchase_orders where id = ? and status = 'reserving'`, [orderId], 'run');
  });
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

/**
 * Places an order: prices and sellers come from the catalog, never from the client; stock for all
 * items is reserved or none is; the order and its payment request are committed together.
 * A crash part-way leaves a `reserving` order, which the sweeper completes or compensates.
 */
export async function placeOrder(ctx: ModuleContext, em: EntityManager, buyer: Caller, input: OrderRequest, idempotencyKey?: string): Promise<{ order: OrderView; replayed: boolean }> {
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

/** An order as phase 1 writes it: `reserving`, its lines without prices, its payment as a token. */
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

/**
 * Phase 1, before any stock is held: the lines, then the order, each one statement committed on its
 * own. Lines first, so that the sweeper never finds a `reserving` order without them; a crash
 * between the two leaves only lines that no order names, which nothing reads (every read starts
 * from an order). Answers false when another request with this Idempotency-Key wrote its order first.
 */
async function writeDraft(em: EntityManager, draft: Draft, lines: Line[]): Promise<boolean> {
  await em.execute(
    `insert into purchase_order_items (order_id, book_id, title, unit_price_cents, quantity, seller_id) values ${lines.map(() => `(?, ?, '', 0, ?, 0)`).join(', ')}`,
    lines.flatMap((line) => [draft.id, line.bookId, line.quantity]),
    'run',
  );
  try {
    await em.execute(
      `insert into purchase_orders (id, buyer_id, status, subtotal_cents, delivery_cost_cents, total_cents, currency, delivery_provider_id, delivery_provider_name,
         shipping_address, payment_method, payment_status, payment_brand, payment_last4, payment_token, idempotency_key, request_hash, created_at, updated_at)
       values (?, ?, 'reserving', 0, ?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        draft.id, draft.buyerId, draft.deliveryCostCents, draft.deliveryCostCents, draft.deliveryProviderId, draft.deliveryProviderName,
        JSON.stringify(draft.shippingAddress), draft.paymentMethod, draft.paymentStatus, draft.paymentBrand, draft.paymentLast4, draft.paymentToken,
        draft.idempotencyKey, draft.requestHash, draft.createdAt, draft.createdAt,
      ],
      'run',
    );
    return true;
  } catch (error) {
    await em.execute('delete from purchase_order_items where order_id = ?', [draft.id], 'run');
    if (error instanceof UniqueConstraintViolationException && draft.idempotencyKey) return false;
    throw error;
  }
}

/** The 201 answer from what this request wrote, with no read back. */
function placedView(draft: Draft, reserved: ReservedStock, confirmedAt: Date): OrderView {
  const order: Order = { ...draft, status: 'pending_payment', ...totals(reserved.items, draft.deliveryCostCents), currency: reserved.currency, trackingNumber: null, sweepAttempts: 0, updatedAt: confirmedAt };
  const event = { orderId: draft.id, id: 0, status: 'pending_payment', detail: PLACED_DETAIL, at: confirmedAt };
  return orderView(order, reserved.items.map((item) => ({ ...item, orderId: draft.id })), [event]);
}

/**
 * The confirmation failed after the catalog reserved the stock: the order is cancelled and its stock
 * given back now, instead of held for the sweeper's grace period. Cancelling is conditional on the
 * order still being `reserving`, so a confirmation that did commit (its answer lost) keeps its stock.
 * If even that fails (the database is gone), the order stays `reserving` and the sweeper finishes it.
 */
async function abandon(ctx: ModuleContext, draft: Draft, reserved: ReservedStock, error: unknown): Promise<void> {
  ctx.logger.warn({ orderId: draft.id, ...describeFailure(error) }, 'order could not be confirmed after its stock was reserved; cancelling it');
  await cancelUnplaced(ctx, draft, FAILED_ON_OUR_SIDE, reserved).catch((failure: unknown) =>
    ctx.logger.warn({ orderId: draft.id, ...describeFailure(failure) }, 'could not cancel it either; the sweeper will'),
  );
}

/**
 * One attempt; answers undefined when another request with the same key got there first.
 *
 * Three short steps, each durable before the next: the draft (phase 1), the catalog's reservation
 * (idempotent by order id), the confirmation with the payment request in the outbox. The catalog
 * decides unknown books (404), one's own (400) and stock (409) in the reservation itself; a definite
 * "no" forgets the draft, and any other failure of the reservation leaves it to the sweeper. A
 * failure after the reservation cancels the order and gives its stock back (abandon).
 */
async function placeOnce(ctx: ModuleContext, em: EntityManager, buyer: Caller, input: OrderRequest, hash: string, idempotencyKey?: string): Promise<OrderView | undefined> {
  const provider = await deliveryProvider(ctx.db, input.deliveryProviderId);
  if (!provider) throw new Problem(400, 'validation_failed', 'Unknown delivery provider.', [{ path: 'deliveryProviderId', message: 'is not a delivery provider; see GET /api/purchase/delivery-providers' }]);
  const lines = bookLines(input);
  const draft = draftOf(buyer, input, provider, hash, idempotencyKey);
  if (!(await writeDraft(em, draft, lines))) return undefined;

  let reserved: ReservedStock;
  try {
    reserved = await catalogApi(ctx.services).reserveStock({ orderId: draft.id, buyerId: buyer.id, items: lines });
  } catch (error) {
    if (error instanceof Problem && error.status < 500) await forget(em, draft.id);
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

export async function cancelOrder(ctx: ModuleContext, em: EntityManager, caller: Caller, id: string): Promise<OrderView> {
  const order = await em.findOne(Order, { id, buyerId: caller.id, status: VISIBLE });
  if (!order) throw notFound('order');
  const cancelled = await transition(ctx, em, id, { from: ['pending_payment', 'paid'], to: 'cancelled', detail: 'Cancelled by the buyer', next: { job: 'compensate', delayMs: 0 } });
  if (!cancelled) throw new Problem(409, 'invalid_state', `An order that is ${order.status.replace('_', ' ')} can no longer be cancelled.`);
  // Give stock and money back now; the queued job repeats it harmlessly, or does it if this fails.
  await compensate(ctx, id).catch((error: unknown) => ctx.logger.warn({ orderId: id, err: (error as Error).message }, 'compensation deferred to the job'));
  return orderById(em.fork(), id);
}

interface SaleRow {
  order_id: string;
  book_id: number;
  title: string;
  unit_price_cents: number;
  quantity: number;
  status: string;
  currency: string;
  created_at: Date | string | number;
}

/** Order lines of the seller's books, newest order first, with the order's state. */
export async function listSales(em: EntityManager, sellerId: number, page: number, limit: number) {
  const connection = em.getConnection();
  const where = `from purchase_order_items i join purchase_orders o on o.id = i.order_id where i.seller_id = ? and o.status <> 'reserving'`;
  const [rows, [count]] = await Promise.all([
    connection.execute<SaleRow[]>(
      `select i.order_id, i.book_id, i.title, i.unit_price_cents, i.quantity, o.status, o.currency, o.created_at ${where} order by o.created_at desc, i.order_id, i.book_id limit ? offset ?`,
      [sellerId, limit, (page - 1) * limit],
    ),
    connection.execute<{ total: number }[]>(`select count(*) as total ${where}`, [sellerId]),
  ]);
  return {
    items: rows.map((row) => ({
      orderId: row.order_id,
      orderStatus: row.status,
      bookId: row.book_id,
      title: row.title,
      unitPriceCents: row.unit_price_cents,
      quantity: row.quantity,
      currency: row.currency,
      orderedAt: dateFrom(row.created_at).toISOString(),
    })),
    page,
    limit,
    total: Number(count?.total ?? 0),
  };
}
