/**
 * Shared helpers for the purchase tests that run on MariaDB, Redis and the real BullMQ payment and
 * delivery workers (one store per test file, started with usePurchaseStack). For the tests that
 * run on each backend (describeOnEachBackend) see orders.testkit.ts. Not a test file itself.
 *
 * Every test works on books and buyers of its own, so that its expectations about stock, orders
 * and sales are exact even though its whole file shares one database.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { signUp, startIsolatedStore, type ApiRequest, type IsolatedStore, type TestDatabase } from '../../test/harness.js';
import { late, lateUser, useIsolatedStore } from '../../test/isolated.testkit.js';
import { ENVIA_COST, SHIPPING, sleep } from './orders.testkit.js';

export { ENVIA_COST, SHIPPING, sleep };

export type Reply = Awaited<ReturnType<ApiRequest>>;
export type User = Awaited<ReturnType<typeof signUp>>;

export interface Book {
  id: number;
  title: string;
  priceCents: number;
  stock: number;
  sellerId: number;
}

export interface OrderEvent {
  status: string;
  at: string;
  detail?: string;
}

export interface Order {
  id: string;
  status: string;
  items: { bookId: number; title: string; unitPriceCents: number; quantity: number; sellerId: number }[];
  subtotalCents: number;
  deliveryCostCents: number;
  totalCents: number;
  currency: string;
  deliveryProvider: { id: string; name: string };
  shippingAddress: Record<string, string>;
  payment: { method: string; status: string; brand?: string; last4?: string };
  trackingNumber?: string;
  events: OrderEvent[];
  createdAt: string;
  updatedAt: string;
}

export interface Line {
  bookId: number | string;
  quantity: number;
}

export const ADMIN = { email: 'purchase.admin@example.test', password: 'admin password 123' };
const VALID_YEAR = new Date().getUTCFullYear() + 3;
export const CVC = '739';
export const card = (cardNumber: string) => ({ method: 'card', cardNumber, expMonth: 12, expYear: VALID_YEAR, cvc: CVC });
export const CARD_OK = card('4242424242424242');
export const CARD_DECLINED = card('4000000000000002');
export const CARD_FLAKY = card('4000000000000119');
export const PAYPAL = { method: 'paypal', email: 'payer@example.test' };
export const BANK = { method: 'bank_transfer' };
/** The happy flow; a job may pass a state between two polls, and then its event proves it was reached. */
export const FLOW = ['pending_payment', 'paid', 'shipped', 'delivered'];
const TERMINAL = ['payment_failed', 'cancelled', 'delivered'];

let addressCounter = 0;
/** A client address of its own for every user, so the 30-registrations-per-address limit never bites. */
export function nextAddress(): string {
  addressCounter += 1;
  return `10.93.${Math.floor(addressCounter / 250)}.${(addressCounter % 250) + 1}`;
}

export function errorPaths(response: Reply): string[] {
  expect(Array.isArray(response.body.errors), JSON.stringify(response.body)).toBe(true);
  return (response.body.errors as { path: string }[]).map((e) => e.path);
}

export function orderBody(items: Line[], payment: unknown = CARD_OK) {
  return { items, deliveryProviderId: 'envia', shippingAddress: SHIPPING, payment };
}

/** Waits until `read` answers something `done` accepts; answers the last value read either way. */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(50);
  }
}

/** Fast jobs, so that an order is delivered within a test, and the configured administrator. */
export const PURCHASE_ENV = {
  PAYMENT_DELAY_MS: '40',
  DELIVERY_SHIP_DELAY_MS: '150',
  DELIVERY_TRANSIT_DELAY_MS: '150',
  BOOKSTORE_ADMIN_EMAIL: ADMIN.email,
  BOOKSTORE_ADMIN_PASSWORD: ADMIN.password,
};

export interface PurchaseStack extends IsolatedStore {
  seller: User;
  buyer: User;
  other: User;
  /** The administrator's token, when `env` configures one (PURCHASE_ENV does). */
  adminToken: string;
}

/**
 * The real store on a MariaDB database and Redis prefix of its own, with a seller, a buyer and
 * another customer signed up, and the administrator signed in when `env` configures one.
 */
async function startPurchaseStack(env: Record<string, string> = PURCHASE_ENV, names = ['Sal Seller', 'Bea Buyer', 'Otto Other']): Promise<PurchaseStack> {
  const stack = await startIsolatedStore(env);
  try {
    const { request } = stack;
    const [seller, buyer, other] = await Promise.all(names.map((name) => signUp(request, name, nextAddress())));
    let adminToken = '';
    if (env.BOOKSTORE_ADMIN_EMAIL) {
      const login = await request('POST', '/api/auth/login', { body: { email: env.BOOKSTORE_ADMIN_EMAIL, password: env.BOOKSTORE_ADMIN_PASSWORD }, headers: { 'x-forwarded-for': nextAddress() } });
      expect(login.status).toBe(200);
      adminToken = login.body.token as string;
    }
    return { ...stack, close: () => stack.close(), seller: seller!, buyer: buyer!, other: other!, adminToken };
  } catch (error) {
    await stack.close();
    throw error;
  }
}

/** `size` buyers, registered in parallel batches of 10, each from an address of their own. */
export async function crowd(request: ApiRequest, size: number): Promise<User[]> {
  const users: User[] = [];
  for (let batch = 0; batch * 10 < size; batch++) {
    const count = Math.min(10, size - batch * 10);
    users.push(...(await Promise.all(Array.from({ length: count }, (_, i) => signUp(request, `Crowd ${batch * 10 + i}`, nextAddress())))));
  }
  return users;
}

/** Helpers bound to one running store. */
function storeHelpers(request: ApiRequest, getDb: () => TestDatabase) {
  async function createBook(token: string, fields: Partial<Omit<Book, 'id'>> = {}): Promise<Book> {
    const body = { title: `Book ${randomBytes(4).toString('hex')}`, author: 'Some Writer', priceCents: 1000, stock: 5, ...fields };
    const response = await request('POST', '/api/catalog/books', { token, body });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body.book as Book;
  }

  async function stockOf(bookId: number): Promise<number> {
    const response = await request('GET', `/api/catalog/books/${bookId}`);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    return response.body.book.stock as number;
  }

  async function dbStock(bookId: number): Promise<number> {
    const rows = (await getDb().query('select stock from catalog_books where id = ?', [bookId])) as { stock: number }[];
    return Number(rows[0]!.stock);
  }

  async function order(token: string, items: Line[], payment: unknown = CARD_OK, headers?: Record<string, string>): Promise<Reply> {
    return request('POST', '/api/purchase/orders', { token, body: orderBody(items, payment), ...(headers ? { headers } : {}) });
  }

  async function placed(token: string, items: Line[], payment: unknown = CARD_OK): Promise<Order> {
    const response = await order(token, items, payment);
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body.order as Order;
  }

  async function readOrder(token: string, orderId: string): Promise<Order> {
    const response = await request('GET', `/api/purchase/orders/${orderId}`, { token });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    return response.body.order as Order;
  }

  /**
   * Polls GET /orders/{id} every 50 ms until the order is in `status`. For a state of the happy
   * flow, a later state of that flow also ends the wait (the job may have moved on between polls;
   * the order's events show the state was reached). A different terminal state fails at once.
   */
  async function waitForStatus(token: string, orderId: string, status: string, timeoutMs = 10_000): Promise<Order> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const current = await readOrder(token, orderId);
      if (current.status === status) return current;
      if (FLOW.includes(status) && FLOW.indexOf(current.status) > FLOW.indexOf(status)) return current;
      if (TERMINAL.includes(current.status)) throw new Error(`order ${orderId} ended ${current.status} instead of reaching ${status}: ${JSON.stringify(current)}`);
      if (Date.now() > deadline) throw new Error(`order ${orderId} did not reach ${status} within ${timeoutMs} ms: ${JSON.stringify(current)}`);
      await sleep(50);
    }
  }

  async function ordersOf(token: string, query = ''): Promise<Reply> {
    const response = await request('GET', `/api/purchase/orders${query}`, { token });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    return response;
  }

  async function eventCounts(orderId: string): Promise<Record<string, number>> {
    const rows = (await getDb().query('select status, count(*) as n from purchase_order_events where order_id = ? group by status', [orderId])) as { status: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  async function charge(orderId: string) {
    const rows = (await getDb().query('select status, captures, attempts from purchase_gateway_charges where order_id = ?', [orderId])) as { status: string; captures: number; attempts: number }[];
    return rows[0];
  }

  return { createBook, stockOf, dbStock, order, placed, readOrder, waitForStatus, ordersOf, eventCounts, charge };
}

/**
 * A purchase stack (startPurchaseStack, with the same arguments) for the calling describe block:
 * started in beforeAll, closed in afterAll. `request`, the users and the helpers may be taken apart
 * in the describe body (they read the store when used); `store`, `db` and `adminToken` are read from
 * the answer inside tests and hooks (`stack.db.query(...)`), since they exist only once beforeAll
 * has run.
 */
export function usePurchaseStack(...args: Parameters<typeof startPurchaseStack>) {
  const { started, request } = useIsolatedStore(() => startPurchaseStack(...args));
  return Object.assign(late(started, ['store', 'db', 'adminToken']), {
    request,
    seller: lateUser(() => started().seller),
    buyer: lateUser(() => started().buyer),
    other: lateUser(() => started().other),
    ...storeHelpers(request, () => started().db),
  });
}
