import { createHash, randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Caller } from '../../kernel/auth-context.js';
import { dateFrom } from '../../kernel/database.js';
import type { EntityManager, ModuleContext } from '../../kernel/module.js';
import { Problem, notFound } from '../../kernel/problem.js';
import { catalogApi, type BookView, type ReservedItem } from '../catalog/client.js';
import { DeliveryProvider, Order, OrderEvent, OrderItem } from './entities.js';
import { tokenizeAccount, tokenizeCard } from './gateway.js';
import { compensate, transition } from './lifecycle.js';
import { enqueue, outboxRelay } from './outbox.js';
import type { OrderRequest, OrderView, PaymentInput } from './schemas.js';

const VISIBLE = { $ne: 'reserving' } as const;

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

const invalidItems = (detail: string, index: number, message: string) =>
  new Problem(400, 'validation_failed', detail, [{ path: `items.${index}.bookId`, message }]);

/** Checks the request against the catalog before anything is held: unknown books, own books, stock. */
async function checkBooks(ctx: ModuleContext, buyer: Caller, input: OrderRequest): Promise<BookView[]> {
  const ids = input.items.map((item) => (typeof item.bookId === 'number' && Number.isInteger(item.bookId) && item.bookId > 0 ? item.bookId : undefined));
  const known = ids.filter((id): id is number => id !== undefined);
  const books = known.length ? await catalogApi(ctx.services).booksByIds({ ids: known }) : [];
  return input.items.map((item, index) => {
    const book = books.find((b) => b.id === ids[index]);
    if (!book) throw notFound(`book ${String(item.bookId)}`);
    if (book.sellerId === buyer.id) throw invalidItems('You cannot buy your own book.', index, 'is one of your own listings');
    if (book.stock < item.quantity) throw new Problem(409, 'insufficient_stock', `Not enough copies of book ${book.id} are in stock.`);
    return book;
  });
}

function totals(lines: { unitPriceCents: number; quantity: number }[], deliveryCostCents: number) {
  const subtotalCents = lines.reduce((sum, line) => sum + line.unitPriceCents * line.quantity, 0);
  return { subtotalCents, deliveryCostCents, totalCents: subtotalCents + deliveryCostCents };
}

/** Moves a reserved order to pending_payment with the reserved prices, and asks for payment: one transaction. */
export async function confirm(em: EntityManager, orderId: string, reserved: ReservedItem[], deliveryCostCents: number, detail = 'Order placed; stock reserved') {
  await em.transactional(async (tx) => {
    for (const item of reserved) {
      await tx.nativeUpdate(OrderItem, { orderId, bookId: item.bookId }, { title: item.title, unitPriceCents: item.unitPriceCents, sellerId: item.sellerId });
    }
    const moved = await tx.nativeUpdate(Order, { id: orderId, status: 'reserving' }, { status: 'pending_payment', ...totals(reserved, deliveryCostCents), updatedAt: new Date() });
    if (moved !== 1) return;
    tx.create(OrderEvent, { orderId, status: 'pending_payment', detail, at: new Date() });
    enqueue(tx, 'pay', orderId);
  });
}

async function forget(em: EntityManager, orderId: string) {
  await em.transactional(async (tx) => {
    await tx.nativeDelete(OrderItem, { orderId });
    await tx.nativeDelete(Order, { id: orderId, status: 'reserving' });
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

/** One attempt; answers undefined when another request with the same key got there first. */
async function placeOnce(ctx: ModuleContext, em: EntityManager, buyer: Caller, input: OrderRequest, hash: string, idempotencyKey?: string): Promise<OrderView | undefined> {
  const provider = await em.findOne(DeliveryProvider, { id: input.deliveryProviderId });
  if (!provider) throw new Problem(400, 'validation_failed', 'Unknown delivery provider.', [{ path: 'deliveryProviderId', message: 'is not a delivery provider; see GET /api/purchase/delivery-providers' }]);
  const books = await checkBooks(ctx, buyer, input);

  const orderId = randomUUID();
  const lines = input.items.map((item, index) => ({ book: books[index]!, quantity: item.quantity }));
  try {
    await em.transactional(async (tx) => {
      tx.create(Order, {
        id: orderId,
        buyerId: buyer.id,
        status: 'reserving',
        ...totals(lines.map((l) => ({ unitPriceCents: l.book.priceCents, quantity: l.quantity })), provider.costCents),
        currency: books[0]!.currency,
        deliveryProviderId: provider.id,
        deliveryProviderName: provider.name,
        shippingAddress: input.shippingAddress,
        ...paymentFields(input.payment),
        paymentStatus: 'pending',
        trackingNumber: null,
        idempotencyKey: idempotencyKey ?? null,
        requestHash: hash,
      });
      for (const line of lines) {
        tx.create(OrderItem, { orderId, bookId: line.book.id, title: line.book.title, unitPriceCents: line.book.priceCents, quantity: line.quantity, sellerId: line.book.sellerId });
      }
    });
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException && idempotencyKey) return undefined;
    throw error;
  }

  let reserved: ReservedItem[];
  try {
    reserved = await catalogApi(ctx.services).reserveStock({ orderId, items: lines.map((l) => ({ bookId: l.book.id, quantity: l.quantity })) });
  } catch (error) {
    // A definite "no" holds nothing: forget the order. Anything else is left to the sweeper.
    if (error instanceof Problem && error.status < 500) await forget(em, orderId);
    throw error;
  }
  await confirm(em, orderId, reserved, provider.costCents);
  outboxRelay(ctx).nudge();
  return orderById(em.fork(), orderId);
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
  const cancelled = await transition(em, id, { from: ['pending_payment', 'paid'], to: 'cancelled', detail: 'Cancelled by the buyer', next: { job: 'compensate', delayMs: 0 } });
  if (!cancelled) throw new Problem(409, 'invalid_state', `An order that is ${order.status.replace('_', ' ')} can no longer be cancelled.`);
  // Give stock and money back now; the queued job repeats it harmlessly, or does it if this fails.
  await compensate(ctx, id).catch((error: unknown) => ctx.logger.warn({ orderId: id, err: (error as Error).message }, 'compensation deferred to the job'));
  outboxRelay(ctx).nudge();
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
