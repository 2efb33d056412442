/**
 * Shared helpers for the purchase tests that run on each backend (describeOnEachBackend): books,
 * orders, stock and statuses through the real API, drafts and triggers straight in the store's
 * own database. Not a test file itself.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { BackendStore } from '../../test/harness.js';
import type { OrderStatus } from './entities.js';

export const CARD_OK = { method: 'card', cardNumber: '4242424242424242', expMonth: 12, expYear: new Date().getUTCFullYear() + 3, cvc: '739' };
export const SHIPPING = { name: 'Bea Buyer', line1: 'Calle 10 # 4-21', city: 'Bogotá', postalCode: '110111', country: 'CO' };
export const ENVIA_COST = 800;
/** The catalog's largest price (catalog schemas: MAX_CENTS). */
export const MAX_PRICE_CENTS = 100_000_000;
/** Small delays so that a placed order is delivered within a test. */
export const FAST_JOBS = { PAYMENT_DELAY_MS: '20', DELIVERY_SHIP_DELAY_MS: '50', DELIVERY_TRANSIT_DELAY_MS: '50' };

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let addressCounter = 0;
/** A client address of its own for every user, so the registrations-per-address limit never bites. */
export function nextAddress(): string {
  addressCounter += 1;
  return `10.71.${Math.floor(addressCounter / 250)}.${(addressCounter % 250) + 1}`;
}

export interface PlacedOrder {
  id: string;
  status: string;
  subtotalCents: number;
  deliveryCostCents: number;
  totalCents: number;
  items: { bookId: number; unitPriceCents: number; quantity: number }[];
  payment: { status: string };
  events: { status: string; detail?: string }[];
}

export function orderBody(bookId: number, quantity: number) {
  return { items: [{ bookId, quantity }], deliveryProviderId: 'envia', shippingAddress: SHIPPING, payment: CARD_OK };
}

export async function createBook(store: BackendStore, token: string, priceCents: number, stock: number): Promise<number> {
  const body = { title: `Book ${randomBytes(4).toString('hex')}`, author: 'Some Writer', priceCents, stock };
  const response = await store.request('POST', '/api/catalog/books', { token, body });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body.book.id as number;
}

/** The stock as the catalog's table holds it (no cache in between). */
export async function stockOf(store: BackendStore, bookId: number): Promise<number> {
  const [row] = await store.sql<{ stock: number }>('select stock from catalog_books where id = ?', [bookId]);
  return Number(row!.stock);
}

export async function orderRow(store: BackendStore, orderId: string) {
  const [row] = await store.sql<{ status: string; subtotal_cents: number; total_cents: number }>('select status, subtotal_cents, total_cents from purchase_orders where id = ?', [orderId]);
  return row ? { status: row.status, subtotalCents: Number(row.subtotal_cents), totalCents: Number(row.total_cents) } : undefined;
}

/** How many times the sweeper tried to finish an interrupted order. */
export async function sweepAttempts(store: BackendStore, orderId: string): Promise<number> {
  const [row] = await store.sql<{ sweep_attempts: number }>('select sweep_attempts from purchase_orders where id = ?', [orderId]);
  return Number(row!.sweep_attempts);
}

/** Polls the buyer's view of an order until it is `status` (or a later state of the happy flow). */
export async function waitForStatus(store: BackendStore, token: string, orderId: string, status: string, timeoutMs = 10_000): Promise<PlacedOrder> {
  const flow = ['pending_payment', 'paid', 'shipped', 'delivered'];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await store.request('GET', `/api/purchase/orders/${orderId}`, { token });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const order = response.body.order as PlacedOrder;
    if (order.status === status || flow.indexOf(order.status) > flow.indexOf(status)) return order;
    if (Date.now() > deadline) throw new Error(`order ${orderId} did not reach ${status}: ${JSON.stringify(order)}`);
    await sleep(50);
  }
}

/**
 * A `reserving` order as a request that died right after writing its draft leaves it: lines without
 * prices, the order created now (so the store's own sweeper leaves it alone for its grace period).
 */
export async function draftOrder(store: BackendStore, buyerId: number, bookId: number, quantity: number, createdAt = new Date()): Promise<string> {
  const id = randomUUID();
  await store.sql(`insert into purchase_order_items (order_id, book_id, title, unit_price_cents, quantity, seller_id) values (?, ?, '', 0, ?, 0)`, [id, bookId, quantity]);
  await store.sql(
    `insert into purchase_orders (id, buyer_id, status, subtotal_cents, delivery_cost_cents, total_cents, currency, delivery_provider_id, delivery_provider_name,
       shipping_address, payment_method, payment_status, payment_token, created_at, updated_at)
     values (?, ?, 'reserving', 0, ?, ?, '', 'envia', 'Envia', ?, 'bank_transfer', 'pending', ?, ?, ?)`,
    [id, buyerId, ENVIA_COST, ENVIA_COST, JSON.stringify(SHIPPING), `sim_bank_transfer_ok_${randomBytes(12).toString('hex')}`, createdAt, createdAt],
  );
  return id;
}

export const REFUSED = 'order status change refused by the test trigger';

/** What the database itself says when it refuses a buyer's order confirmation (its move to pending_payment). */
export const refuseConfirmationsOf = (store: BackendStore, buyerId: number) => refuseMovesOf(store, buyerId, ['pending_payment']);

/**
 * A real database failure: a trigger that refuses to move this buyer's orders to any of `statuses`,
 * leaving every other write alone. Answers how to drop it.
 */
export async function refuseMovesOf(store: BackendStore, buyerId: number, statuses: OrderStatus[]): Promise<() => Promise<void>> {
  const name = `refuse_moves_${buyerId}_${randomBytes(3).toString('hex')}`;
  const buyer = Number(buyerId);
  const refused = statuses.map((status) => `'${status}'`).join(', ');
  if (store.backend === 'sqlite') {
    await store.sql(
      `create trigger ${name} before update of status on purchase_orders
       when new.status in (${refused}) and new.buyer_id = ${buyer}
       begin select raise(abort, '${REFUSED}'); end`,
    );
  } else {
    await store.sql(
      `create trigger ${name} before update on purchase_orders for each row
       if new.status in (${refused}) and new.buyer_id = ${buyer} then signal sqlstate '45000' set message_text = '${REFUSED}'; end if`,
    );
  }
  return async () => {
    await store.sql(`drop trigger if exists ${name}`);
  };
}
