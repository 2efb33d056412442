/**
 * End-to-end tests of the purchase routes through the real app, on real MariaDB, real Redis and the
 * real BullMQ payment and delivery workers running inside the store.
 *
 * Every test works on books and buyers of its own, so that its expectations about stock, orders
 * and sales are exact even though the whole file shares one database.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningStore } from '../../kernel/store.js';
import {
  servicesAvailable,
  signUp,
  type ApiRequest,
  type TestDatabase,
  expectProblem,
  startIsolatedStore,
  type IsolatedStore,
} from '../../test/harness.js';
import { catalogApi } from '../catalog/client.js';
import { charge as chargeOrder } from './gateway.js';
import { outboxRelay } from './outbox.js';
import { deliveryProvider, deliveryProviders, PROVIDERS_FRESH_MS } from './providers.js';
import { sweepOnce } from './sweeper.js';

const ready = await servicesAvailable('modules/purchase/purchase.test.ts', ['mysql', 'redis']);

type Reply = Awaited<ReturnType<ApiRequest>>;
type User = Awaited<ReturnType<typeof signUp>>;

interface Book {
  id: number;
  title: string;
  priceCents: number;
  stock: number;
  sellerId: number;
}

interface OrderEvent {
  status: string;
  at: string;
  detail?: string;
}

interface Order {
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

interface Line {
  bookId: number | string;
  quantity: number;
}

const ADMIN = { email: 'purchase.admin@example.test', password: 'admin password 123' };
const VALID_YEAR = new Date().getUTCFullYear() + 3;
const CVC = '739';
const card = (cardNumber: string) => ({ method: 'card', cardNumber, expMonth: 12, expYear: VALID_YEAR, cvc: CVC });
const CARD_OK = card('4242424242424242');
const CARD_DECLINED = card('4000000000000002');
const CARD_FLAKY = card('4000000000000119');
const PAYPAL = { method: 'paypal', email: 'payer@example.test' };
const BANK = { method: 'bank_transfer' };
const SHIPPING = { name: 'Bea Buyer', line1: 'Calle 10 # 4-21', city: 'Bogotá', postalCode: '110111', country: 'CO' };
const ENVIA_COST = 800;
/** The happy flow; a job may pass a state between two polls, and then its event proves it was reached. */
const FLOW = ['pending_payment', 'paid', 'shipped', 'delivered'];
const TERMINAL = ['payment_failed', 'cancelled', 'delivered'];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let addressCounter = 0;
/** A client address of its own for every user, so the 30-registrations-per-address limit never bites. */
function nextAddress(): string {
  addressCounter += 1;
  return `10.93.${Math.floor(addressCounter / 250)}.${(addressCounter % 250) + 1}`;
}

function errorPaths(response: Reply): string[] {
  expect(Array.isArray(response.body.errors), JSON.stringify(response.body)).toBe(true);
  return (response.body.errors as { path: string }[]).map((e) => e.path);
}

function orderBody(items: Line[], payment: unknown = CARD_OK) {
  return { items, deliveryProviderId: 'envia', shippingAddress: SHIPPING, payment };
}

/** Waits until `read` answers something `done` accepts; answers the last value read either way. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(50);
  }
}

/** Helpers bound to one running store. */
function storeHelpers(getRequest: () => ApiRequest, getDb: () => TestDatabase) {
  const request = (...args: Parameters<ApiRequest>) => getRequest()(...args);

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

describe.runIf(ready)('purchase on MariaDB, Redis and BullMQ', () => {
  let db: TestDatabase;
  let store: RunningStore;
  let request: ApiRequest;
  let seller: User;
  let buyer: User;
  let other: User;
  let adminToken: string;
  const h = storeHelpers(
    () => request,
    () => db,
  );
  const { createBook, stockOf, dbStock, order, placed, readOrder, waitForStatus, ordersOf, eventCounts, charge } = h;
  let stack: IsolatedStore;

  beforeAll(async () => {
    stack = await startIsolatedStore({
      PAYMENT_DELAY_MS: '40',
      DELIVERY_SHIP_DELAY_MS: '150',
      DELIVERY_TRANSIT_DELAY_MS: '150',
      BOOKSTORE_ADMIN_EMAIL: ADMIN.email,
      BOOKSTORE_ADMIN_PASSWORD: ADMIN.password,
    });
    ({ db, store, request } = stack);
    [seller, buyer, other] = await Promise.all([
      signUp(request, 'Sal Seller', nextAddress()),
      signUp(request, 'Bea Buyer', nextAddress()),
      signUp(request, 'Otto Other', nextAddress()),
    ]);
    const login = await request('POST', '/api/auth/login', { body: ADMIN, headers: { 'x-forwarded-for': nextAddress() } });
    expect(login.status).toBe(200);
    adminToken = login.body.token as string;
  });

  afterAll(() => stack?.close());

  /** 50 buyers, registered in parallel batches of 10, each from an address of their own. */
  let crowd: User[] | undefined;
  async function theCrowd(): Promise<User[]> {
    if (crowd) return crowd;
    const users: User[] = [];
    for (let batch = 0; batch < 5; batch++) {
      users.push(...(await Promise.all(Array.from({ length: 10 }, (_, i) => signUp(request, `Crowd ${batch * 10 + i}`, nextAddress())))));
    }
    crowd = users;
    return users;
  }

  describe('GET /delivery-providers', () => {
    it('lists DHL and FedEx (international), Envia and Servientrega (national) with their cost', async () => {
      const response = await request('GET', '/api/purchase/delivery-providers');
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const items = [...(response.body.items as { id: string }[])].sort((a, b) => a.id.localeCompare(b.id));
      expect(items).toEqual([
        { id: 'dhl', name: 'DHL', coverage: 'international', costCents: 2500 },
        { id: 'envia', name: 'Envia', coverage: 'national', costCents: 800 },
        { id: 'fedex', name: 'FedEx', coverage: 'international', costCents: 2200 },
        { id: 'servientrega', name: 'Servientrega', coverage: 'national', costCents: 600 },
      ]);
    });
  });

  describe('the happy path, to delivered', () => {
    it.each([
      ['card', CARD_OK, { method: 'card', brand: 'visa', last4: '4242' }],
      ['paypal', PAYPAL, { method: 'paypal' }],
      ['bank_transfer', BANK, { method: 'bank_transfer' }],
    ])('by %s: catalog prices, payment captured, shipped with tracking, delivered, each step once', async (_label, payment, shown) => {
      const book = await createBook(seller.token, { priceCents: 1250, stock: 5 });
      const response = await order(buyer.token, [{ bookId: book.id, quantity: 2 }], payment);
      expect(response.status, JSON.stringify(response.body)).toBe(201);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const created = response.body.order as Order;
      expect(created).toEqual({
        id: expect.any(String),
        status: 'pending_payment',
        items: [{ bookId: book.id, title: book.title, unitPriceCents: 1250, quantity: 2, sellerId: seller.user.id }],
        subtotalCents: 2500,
        deliveryCostCents: ENVIA_COST,
        totalCents: 2500 + ENVIA_COST,
        currency: 'USD',
        deliveryProvider: { id: 'envia', name: 'Envia' },
        // Checked on its own below ('answers the shipping address as the object that was sent').
        shippingAddress: expect.anything(),
        payment: { ...shown, status: 'pending' },
        events: [{ status: 'pending_payment', at: expect.any(String), detail: expect.any(String) }],
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      expect(book.sellerId).toBe(seller.user.id);
      expect(JSON.stringify(response.body)).not.toContain('4242424242424242');
      expect(await stockOf(book.id)).toBe(3);

      // The card number and cvc are never stored: only a token, the brand and the last 4 digits.
      const [row] = (await db.query('select * from purchase_orders where id = ?', [created.id])) as Record<string, unknown>[];
      expect(row).toBeDefined();
      for (const [column, value] of Object.entries(row!)) {
        const text = value instanceof Date ? value.toISOString() : typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
        expect(text, column).not.toContain('4242424242424242');
        expect(text, column).not.toBe(CVC);
        expect(text, column).not.toMatch(/cvc/i);
      }
      if (shown.method === 'card') expect(row).toMatchObject({ payment_brand: 'visa', payment_last4: '4242' });

      const paid = await waitForStatus(buyer.token, created.id, 'paid');
      expect(paid.payment).toEqual({ ...shown, status: 'captured' });
      const shipped = await waitForStatus(buyer.token, created.id, 'shipped');
      expect(shipped.trackingNumber).toMatch(/^\S{6,40}$/);
      const delivered = await waitForStatus(buyer.token, created.id, 'delivered');
      expect(delivered.status).toBe('delivered');
      expect(delivered.trackingNumber).toBe(shipped.trackingNumber);
      expect(delivered.payment).toEqual({ ...shown, status: 'captured' });
      expect(delivered.events.map((e) => e.status)).toEqual(['pending_payment', 'paid', 'shipped', 'delivered']);
      for (const event of delivered.events) expect(Number.isNaN(Date.parse(event.at))).toBe(false);
      // What was decided at order time does not move.
      const { id, items, subtotalCents, deliveryCostCents, totalCents, currency, deliveryProvider, createdAt } = created;
      expect(delivered).toMatchObject({ id, items, subtotalCents, deliveryCostCents, totalCents, currency, deliveryProvider, createdAt });
      expect(JSON.stringify(delivered)).not.toContain('4242424242424242');

      // Each transition happened once, and the stock stays taken.
      expect(await eventCounts(created.id)).toEqual({ pending_payment: 1, paid: 1, shipped: 1, delivered: 1 });
      expect(await stockOf(book.id)).toBe(3);
      expect(await dbStock(book.id)).toBe(3);
      if (shown.method === 'card') expect(await charge(created.id)).toMatchObject({ status: 'captured', captures: 1 });
    });

    it('answers the shipping address as the object that was sent (POST, GET one, GET list)', async () => {
      const shopper = await signUp(request, 'Addy Address', nextAddress());
      const book = await createBook(seller.token, { stock: 2 });
      const created = await placed(shopper.token, [{ bookId: book.id, quantity: 1 }], BANK);
      expect(created.shippingAddress).toEqual(SHIPPING);
      const withoutOptional = { name: 'Ned', line1: 'Carrera 7', city: 'Cali', country: 'CO' };
      const response = await request('POST', '/api/purchase/orders', {
        token: shopper.token,
        body: { ...orderBody([{ bookId: book.id, quantity: 1 }], BANK), shippingAddress: withoutOptional },
      });
      expect(response.status, JSON.stringify(response.body)).toBe(201);
      expect(response.body.order.shippingAddress).toEqual(withoutOptional);
      expect((await readOrder(shopper.token, created.id)).shippingAddress).toEqual(SHIPPING);
      const listed = (await ordersOf(shopper.token)).body.items as Order[];
      expect(listed.find((o) => o.id === created.id)?.shippingAddress).toEqual(SHIPPING);
    });

    it('a declined card ends payment_failed and gives the stock back, once', async () => {
      const book = await createBook(seller.token, { stock: 4 });
      const created = await placed(buyer.token, [{ bookId: book.id, quantity: 3 }], CARD_DECLINED);
      expect(created.status).toBe('pending_payment');
      expect(created.payment).toEqual({ method: 'card', status: 'pending', brand: 'visa', last4: '0002' });
      const failed = await waitForStatus(buyer.token, created.id, 'payment_failed');
      expect(failed.payment).toEqual({ method: 'card', status: 'declined', brand: 'visa', last4: '0002' });
      expect(failed.events.map((e) => e.status)).toEqual(['pending_payment', 'payment_failed']);
      expect(await eventually(() => stockOf(book.id), (s) => s === 4)).toBe(4);
      await sleep(300);
      expect(await dbStock(book.id)).toBe(4);
      expect(await charge(created.id)).toMatchObject({ status: 'declined', captures: 0 });
      expect(await eventCounts(created.id)).toEqual({ pending_payment: 1, payment_failed: 1 });
    });

    it('a card with transient errors is retried and captured once, on the third attempt', async () => {
      const book = await createBook(seller.token, { stock: 2 });
      const created = await placed(buyer.token, [{ bookId: book.id, quantity: 1 }], CARD_FLAKY);
      const paid = await waitForStatus(buyer.token, created.id, 'paid');
      expect(paid.payment).toEqual({ method: 'card', status: 'captured', brand: 'visa', last4: '0119' });
      const delivered = await waitForStatus(buyer.token, created.id, 'delivered');
      expect(delivered.events.map((e) => e.status)).toEqual(['pending_payment', 'paid', 'shipped', 'delivered']);
      const rows = (await db.query('select captures, attempts from purchase_gateway_charges where order_id = ?', [created.id])) as { captures: number; attempts: number }[];
      expect(rows).toEqual([{ captures: 1, attempts: 3 }]);
      expect(await stockOf(book.id)).toBe(1);
    });
  });

  describe('POST /orders refuses', () => {
    let book: Book;
    let refused: User;
    beforeAll(async () => {
      book = await createBook(seller.token, { stock: 10 });
      refused = await signUp(request, 'Rita Refused', nextAddress());
    });

    const valid = (bookId: number) => orderBody([{ bookId, quantity: 1 }]);
    const cases: [string, (bookId: number) => Record<string, unknown>, string][] = [
      ['no items', (id) => ({ ...valid(id), items: [] }), 'items'],
      ['21 items', (id) => ({ ...valid(id), items: Array.from({ length: 21 }, (_, i) => ({ bookId: id + i, quantity: 1 })) }), 'items'],
      ['quantity 0', (id) => ({ ...valid(id), items: [{ bookId: id, quantity: 0 }] }), 'items.0.quantity'],
      ['quantity 101', (id) => ({ ...valid(id), items: [{ bookId: id, quantity: 101 }] }), 'items.0.quantity'],
      ['quantity 1.5', (id) => ({ ...valid(id), items: [{ bookId: id, quantity: 1.5 }] }), 'items.0.quantity'],
      ['a card number failing Luhn', (id) => ({ ...valid(id), payment: card('4242424242424241') }), 'payment.cardNumber'],
      ['an expired card', (id) => ({ ...valid(id), payment: { ...CARD_OK, expMonth: 1, expYear: 2021 } }), 'payment.expYear'],
      ['an unknown payment method', (id) => ({ ...valid(id), payment: { method: 'cash' } }), 'payment.method'],
      ['a shipping address without city', (id) => ({ ...valid(id), shippingAddress: { name: 'N', line1: 'L', country: 'CO' } }), 'shippingAddress.city'],
      ['a price sent by the client', (id) => ({ ...valid(id), priceCents: 1 }), 'priceCents'],
      ['a unit price sent by the client', (id) => ({ ...valid(id), items: [{ bookId: id, quantity: 1, unitPriceCents: 1 }] }), 'items.0.unitPriceCents'],
      ['the same book twice', (id) => ({ ...valid(id), items: [{ bookId: id, quantity: 1 }, { bookId: id, quantity: 2 }] }), 'items'],
      ['an unknown delivery provider', (id) => ({ ...valid(id), deliveryProviderId: 'pigeon' }), 'deliveryProviderId'],
    ];

    it.each(cases)('%s with 400 validation_failed', async (_label, body, path) => {
      const response = await request('POST', '/api/purchase/orders', { token: refused.token, body: body(book.id) });
      expectProblem(response, 400, 'validation_failed');
      expect(errorPaths(response)).toContain(path);
    });

    it('malformed JSON with 400 malformed_json', async () => {
      const response = await request('POST', '/api/purchase/orders', { token: refused.token, rawBody: '{"items": [', headers: { 'content-type': 'application/json' } });
      expectProblem(response, 400, 'malformed_json');
    });

    it('an anonymous caller with 401', async () => {
      expectProblem(await request('POST', '/api/purchase/orders', { body: valid(book.id) }), 401, 'unauthorized');
    });

    it('unknown books, of any shape, with 404 not_found', async () => {
      expectProblem(await order(refused.token, [{ bookId: 2_000_000_000, quantity: 1 }]), 404, 'not_found');
      expectProblem(await order(refused.token, [{ bookId: 'abc', quantity: 1 }]), 404, 'not_found');
      expectProblem(await order(refused.token, [{ bookId: book.id, quantity: 1 }, { bookId: 'abc', quantity: 1 }]), 404, 'not_found');
    });

    it('a deleted book with 404 not_found', async () => {
      const gone = await createBook(seller.token, { stock: 3 });
      expect((await request('DELETE', `/api/catalog/books/${gone.id}`, { token: seller.token })).status).toBe(204);
      expectProblem(await order(refused.token, [{ bookId: gone.id, quantity: 1 }]), 404, 'not_found');
    });

    it("one's own book with 400 validation_failed, holding nothing", async () => {
      const own = await createBook(refused.token, { stock: 3 });
      const response = await order(refused.token, [{ bookId: own.id, quantity: 1 }]);
      expectProblem(response, 400, 'validation_failed');
      expect(errorPaths(response)).toEqual(['items.0.bookId']);
      expect(await stockOf(own.id)).toBe(3);
    });

    it("one's own book as the second line with 400 at items.1.bookId, the first line keeping all of its stock", async () => {
      const theirs = await createBook(seller.token, { stock: 4 });
      const own = await createBook(refused.token, { stock: 3 });
      const response = await order(refused.token, [{ bookId: theirs.id, quantity: 2 }, { bookId: own.id, quantity: 1 }]);
      expectProblem(response, 400, 'validation_failed');
      expect(errorPaths(response)).toEqual(['items.1.bookId']);
      expect(await stockOf(theirs.id)).toBe(4);
      expect(await stockOf(own.id)).toBe(3);
    });

    it('more than the stock with 409 insufficient_stock, holding nothing', async () => {
      const scarce = await createBook(seller.token, { stock: 2 });
      expectProblem(await order(refused.token, [{ bookId: scarce.id, quantity: 3 }]), 409, 'insufficient_stock');
      expect(await stockOf(scarce.id)).toBe(2);
    });

    it('all or nothing: when the second book lacks stock the first keeps all of its stock', async () => {
      const plenty = await createBook(seller.token, { stock: 5 });
      const scarce = await createBook(seller.token, { stock: 1 });
      expectProblem(await order(refused.token, [{ bookId: plenty.id, quantity: 2 }, { bookId: scarce.id, quantity: 2 }]), 409, 'insufficient_stock');
      expect(await stockOf(plenty.id)).toBe(5);
      expect(await stockOf(scarce.id)).toBe(1);
    });

    it('and none of the refused requests left an order or took stock', async () => {
      const mine = await ordersOf(refused.token);
      expect(mine.body).toMatchObject({ items: [], total: 0 });
      expect(await stockOf(book.id)).toBe(10);
      const [row] = (await db.query('select count(*) as n from purchase_orders where buyer_id = ?', [refused.user.id])) as { n: number }[];
      expect(Number(row!.n)).toBe(0);
    });
  });

  it('keeps the catalog price of order time when the seller changes it later', async () => {
    const book = await createBook(seller.token, { priceCents: 900, stock: 3 });
    const created = await placed(buyer.token, [{ bookId: book.id, quantity: 1 }], BANK);
    const patched = await request('PATCH', `/api/catalog/books/${book.id}`, { token: seller.token, body: { priceCents: 4000, title: 'A new title' } });
    expect(patched.status).toBe(200);
    const later = await readOrder(buyer.token, created.id);
    expect(later.items).toEqual([{ bookId: book.id, title: book.title, unitPriceCents: 900, quantity: 1, sellerId: seller.user.id }]);
    expect(later).toMatchObject({ subtotalCents: 900, totalCents: 900 + ENVIA_COST });
  });

  describe('parallel buyers', () => {
    it('50 buyers for 7 copies: exactly 7 orders, 43 insufficient_stock, stock 0 and never negative', async () => {
      const users = await theCrowd();
      const book = await createBook(seller.token, { stock: 7 });
      const responses = await Promise.all(users.map((user) => order(user.token, [{ bookId: book.id, quantity: 1 }], BANK)));
      const created = responses.filter((r) => r.status === 201);
      const conflicts = responses.filter((r) => r.status === 409);
      expect(responses.map((r) => r.status).sort((a, b) => a - b)).toEqual([...Array(7).fill(201), ...Array(43).fill(409)]);
      for (const response of conflicts) expectProblem(response, 409, 'insufficient_stock');
      expect(new Set(created.map((r) => r.body.order.id)).size).toBe(7);
      expect(await stockOf(book.id)).toBe(0);
      expect(await dbStock(book.id)).toBe(0);
      const totals = await Promise.all(users.map(async (user) => (await ordersOf(user.token)).body.total as number));
      expect(totals.reduce((a, b) => a + b, 0)).toBe(7);
      const [held] = (await db.query(`select coalesce(sum(quantity), 0) as n from catalog_reservations where book_id = ? and status = 'held'`, [book.id])) as { n: number }[];
      expect(Number(held!.n)).toBe(7);
    });

    it('10 buyers for two books, one of them scarce: the losers hold no copy of the other', async () => {
      const users = (await theCrowd()).slice(0, 10);
      const plenty = await createBook(seller.token, { stock: 20 });
      const scarce = await createBook(seller.token, { stock: 3 });
      const responses = await Promise.all(
        users.map((user) =>
          order(
            user.token,
            [
              { bookId: plenty.id, quantity: 1 },
              { bookId: scarce.id, quantity: 1 },
            ],
            BANK,
          ),
        ),
      );
      expect(responses.map((r) => r.status).sort((a, b) => a - b)).toEqual([201, 201, 201, 409, 409, 409, 409, 409, 409, 409]);
      for (const response of responses.filter((r) => r.status === 409)) expectProblem(response, 409, 'insufficient_stock');
      expect(await dbStock(plenty.id)).toBe(17);
      expect(await dbStock(scarce.id)).toBe(0);
    });
  });

  describe('Idempotency-Key', () => {
    it('answers the same order for the same key and body, reserving once', async () => {
      const payer = await signUp(request, 'Ida Idem', nextAddress());
      const book = await createBook(seller.token, { stock: 5 });
      const key = `order-${randomUUID()}`;
      const first = await order(payer.token, [{ bookId: book.id, quantity: 2 }], CARD_OK, { 'idempotency-key': key });
      expect(first.status, JSON.stringify(first.body)).toBe(201);
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      const second = await order(payer.token, [{ bookId: book.id, quantity: 2 }], CARD_OK, { 'idempotency-key': key });
      expect(second.status, JSON.stringify(second.body)).toBe(201);
      expect(second.headers.get('idempotent-replayed')).toBe('true');
      expect(second.body.order.id).toBe(first.body.order.id);
      expect(JSON.stringify(second.body)).not.toContain('4242424242424242');
      expect(await stockOf(book.id)).toBe(3);
      const mine = await ordersOf(payer.token);
      expect(mine.body.total).toBe(1);
      expect(mine.body.items.map((o: Order) => o.id)).toEqual([first.body.order.id]);

      const different = await order(payer.token, [{ bookId: book.id, quantity: 1 }], CARD_OK, { 'idempotency-key': key });
      expectProblem(different, 422, 'idempotency_key_reused');
      expect(await stockOf(book.id)).toBe(3);
      expect((await ordersOf(payer.token)).body.total).toBe(1);
    });

    it('answers 10 concurrent requests with one key and body with one single order', async () => {
      const payer = await signUp(request, 'Conny Current', nextAddress());
      const book = await createBook(seller.token, { stock: 20 });
      const key = `burst-${randomUUID()}`;
      const responses = await Promise.all(Array.from({ length: 10 }, () => order(payer.token, [{ bookId: book.id, quantity: 3 }], PAYPAL, { 'idempotency-key': key })));
      expect(responses.map((r) => r.status)).toEqual(Array(10).fill(201));
      expect(new Set(responses.map((r) => r.body.order.id)).size).toBe(1);
      expect(responses.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(9);
      expect(await stockOf(book.id)).toBe(17);
      const mine = await ordersOf(payer.token);
      expect(mine.body.total).toBe(1);
      expect(mine.body.items).toHaveLength(1);
    });

    it('answers concurrent retries with one key 201 or 409, never 500, when the first request loses the stock race', async () => {
      const racers = (await theCrowd()).slice(10, 20);
      const payer = await signUp(request, 'Rory Retry', nextAddress());
      for (let round = 0; round < 3; round++) {
        const book = await createBook(seller.token, { stock: 1 });
        const key = `race-${randomUUID()}`;
        const [keyed, unkeyed] = await Promise.all([
          Promise.all(Array.from({ length: 5 }, () => order(payer.token, [{ bookId: book.id, quantity: 1 }], BANK, { 'idempotency-key': key }))),
          Promise.all(racers.map((user) => order(user.token, [{ bookId: book.id, quantity: 1 }], BANK))),
        ]);
        const statuses = keyed.map((r) => `${r.status} ${r.body?.code ?? ''}`.trim());
        for (const response of keyed) expect([201, 409], statuses.join(', ')).toContain(response.status);
        for (const response of keyed.filter((r) => r.status === 409)) expectProblem(response, 409, 'insufficient_stock');
        expect(new Set(keyed.filter((r) => r.status === 201).map((r) => r.body.order.id)).size).toBeLessThanOrEqual(1);
        const winners = new Set([...keyed, ...unkeyed].filter((r) => r.status === 201).map((r) => r.body.order.id));
        expect(winners.size).toBe(1);
        expect(await dbStock(book.id)).toBe(0);
      }
    });

    it('keeps keys per buyer: another buyer with the same key gets an order of their own', async () => {
      const [first, second] = await Promise.all([signUp(request, 'Kim Key', nextAddress()), signUp(request, 'Kai Key', nextAddress())]);
      const book = await createBook(seller.token, { stock: 5 });
      const key = `shared-${randomUUID()}`;
      const a = await order(first.token, [{ bookId: book.id, quantity: 1 }], BANK, { 'idempotency-key': key });
      const b = await order(second.token, [{ bookId: book.id, quantity: 1 }], BANK, { 'idempotency-key': key });
      expect([a.status, b.status]).toEqual([201, 201]);
      expect(b.headers.get('idempotent-replayed')).toBeNull();
      expect(b.body.order.id).not.toBe(a.body.order.id);
      expect(await stockOf(book.id)).toBe(3);
      expect((await ordersOf(second.token)).body.items.map((o: Order) => o.id)).toEqual([b.body.order.id]);
    });

    it.each([
      ['300 characters', 'k'.repeat(300)],
      ['a space', 'has space'],
    ])('refuses a key of %s with 400, holding nothing', async (_label, key) => {
      const book = await createBook(seller.token, { stock: 2 });
      const response = await order(other.token, [{ bookId: book.id, quantity: 1 }], BANK, { 'idempotency-key': key });
      expectProblem(response, 400, 'validation_failed');
      expect(await stockOf(book.id)).toBe(2);
    });
  });

  describe('reading orders', () => {
    it('GET /orders: 401 anonymous; the caller’s own orders, newest first, paginated with a total', async () => {
      expectProblem(await request('GET', '/api/purchase/orders'), 401, 'unauthorized');
      const [reader, someone] = await Promise.all([signUp(request, 'Rea Reader', nextAddress()), signUp(request, 'Sam Someone', nextAddress())]);
      const book = await createBook(seller.token, { stock: 10 });
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        ids.push((await placed(reader.token, [{ bookId: book.id, quantity: 1 }], BANK)).id);
        await sleep(5);
      }
      await placed(someone.token, [{ bookId: book.id, quantity: 1 }], BANK);
      const first = await ordersOf(reader.token, '?limit=2');
      expect(first.body).toMatchObject({ page: 1, limit: 2, total: 3 });
      expect(first.body.items.map((o: Order) => o.id)).toEqual([ids[2], ids[1]]);
      const second = await ordersOf(reader.token, '?limit=2&page=2');
      expect(second.body).toMatchObject({ page: 2, limit: 2, total: 3 });
      expect(second.body.items.map((o: Order) => o.id)).toEqual([ids[0]]);
      const all = await ordersOf(reader.token);
      expect(all.body.items.map((o: Order) => o.id)).toEqual([...ids].reverse());
      expect(all.body.items[0]).toMatchObject({ items: [{ bookId: book.id, quantity: 1 }], deliveryProvider: { id: 'envia' } });
      expectProblem(await request('GET', '/api/purchase/orders?limit=0', { token: reader.token }), 400, 'validation_failed');
    });

    it('GET /orders/{id}: 404 for another user and for unknown ids, 200 for the buyer and an admin', async () => {
      const book = await createBook(seller.token, { stock: 3 });
      const created = await placed(buyer.token, [{ bookId: book.id, quantity: 1 }], BANK);
      expectProblem(await request('GET', `/api/purchase/orders/${created.id}`), 401, 'unauthorized');
      expectProblem(await request('GET', `/api/purchase/orders/${created.id}`, { token: other.token }), 404, 'not_found');
      expectProblem(await request('GET', `/api/purchase/orders/${created.id}`, { token: seller.token }), 404, 'not_found');
      expectProblem(await request('GET', `/api/purchase/orders/${randomUUID()}`, { token: buyer.token }), 404, 'not_found');
      expectProblem(await request('GET', '/api/purchase/orders/abc', { token: buyer.token }), 404, 'not_found');
      expectProblem(await request('GET', '/api/purchase/orders/12345', { token: adminToken }), 404, 'not_found');
      const mine = await request('GET', `/api/purchase/orders/${created.id}`, { token: buyer.token });
      expect(mine.status).toBe(200);
      expect(mine.body.order).toMatchObject({ id: created.id, items: created.items });
      const asAdmin = await request('GET', `/api/purchase/orders/${created.id}`, { token: adminToken });
      expect(asAdmin.status).toBe(200);
      expect(asAdmin.body.order).toMatchObject({ id: created.id, items: created.items, totalCents: created.totalCents });
    });
  });

  describe('cancelling', () => {
    it('before payment completes: 200 cancelled, stock back, nothing captured; twice → 409; others → 404', async () => {
      const book = await createBook(seller.token, { stock: 4 });
      // This card's first two attempts fail transiently, so the payment stays pending for about a second.
      const created = await placed(buyer.token, [{ bookId: book.id, quantity: 2 }], CARD_FLAKY);
      expect(await stockOf(book.id)).toBe(2);
      expectProblem(await request('POST', `/api/purchase/orders/${created.id}/cancel`, { token: other.token }), 404, 'not_found');
      expectProblem(await request('POST', `/api/purchase/orders/${created.id}/cancel`), 401, 'unauthorized');
      const cancelled = await request('POST', `/api/purchase/orders/${created.id}/cancel`, { token: buyer.token });
      expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
      expect(cancelled.body.order).toMatchObject({ id: created.id, status: 'cancelled' });
      expect((cancelled.body.order as Order).events.filter((e) => e.status === 'cancelled')).toHaveLength(1);
      expect(await eventually(() => stockOf(book.id), (s) => s === 4)).toBe(4);
      expectProblem(await request('POST', `/api/purchase/orders/${created.id}/cancel`, { token: buyer.token }), 409, 'invalid_state');

      // Let the payment job's retries run out: they must find the order cancelled and charge nothing.
      await sleep(1500);
      const later = await readOrder(buyer.token, created.id);
      expect(later.status).toBe('cancelled');
      expect(later.payment.status).toBe('voided');
      expect(later.events.map((e) => e.status)).toEqual(['pending_payment', 'cancelled']);
      expect((await charge(created.id))?.captures ?? 0).toBe(0);
      expect(await dbStock(book.id)).toBe(4);
      expect(await eventCounts(created.id)).toEqual({ pending_payment: 1, cancelled: 1 });
    });

    it('after shipping: 409 invalid_state and the stock stays taken', async () => {
      const book = await createBook(seller.token, { stock: 3 });
      const created = await placed(buyer.token, [{ bookId: book.id, quantity: 1 }], BANK);
      const shipped = await waitForStatus(buyer.token, created.id, 'shipped');
      expect(['shipped', 'delivered']).toContain(shipped.status);
      expectProblem(await request('POST', `/api/purchase/orders/${created.id}/cancel`, { token: buyer.token }), 409, 'invalid_state');
      const delivered = await waitForStatus(buyer.token, created.id, 'delivered');
      expect(delivered.events.map((e) => e.status)).toEqual(['pending_payment', 'paid', 'shipped', 'delivered']);
      expectProblem(await request('POST', `/api/purchase/orders/${created.id}/cancel`, { token: buyer.token }), 409, 'invalid_state');
      expect(await stockOf(book.id)).toBe(2);
      expect((await readOrder(buyer.token, created.id)).payment.status).toBe('captured');
    });

    it('of an unknown order: 404', async () => {
      expectProblem(await request('POST', `/api/purchase/orders/${randomUUID()}/cancel`, { token: buyer.token }), 404, 'not_found');
    });
  });

  describe('GET /sales', () => {
    it('shows a seller the order lines of their books only; 401 anonymous', async () => {
      const [bookSeller, otherSeller, shopper] = await Promise.all([
        signUp(request, 'Vera Vendor', nextAddress()),
        signUp(request, 'Walt Vendor', nextAddress()),
        signUp(request, 'Sheila Shopper', nextAddress()),
      ]);
      const mine = await createBook(bookSeller.token, { priceCents: 1500, stock: 5 });
      const theirs = await createBook(otherSeller.token, { priceCents: 700, stock: 5 });
      const created = await placed(
        shopper.token,
        [
          { bookId: mine.id, quantity: 2 },
          { bookId: theirs.id, quantity: 1 },
        ],
        BANK,
      );
      expect(created).toMatchObject({ subtotalCents: 3700, totalCents: 3700 + ENVIA_COST });
      const sales = await request('GET', '/api/purchase/sales', { token: bookSeller.token });
      expect(sales.status).toBe(200);
      expect(sales.body.total).toBe(1);
      expect(sales.body.items).toEqual([
        {
          orderId: created.id,
          bookId: mine.id,
          title: mine.title,
          unitPriceCents: 1500,
          quantity: 2,
          orderStatus: expect.stringMatching(/^(pending_payment|paid|shipped|delivered)$/),
          currency: 'USD',
          orderedAt: expect.any(String),
        },
      ]);
      const theirSales = await request('GET', '/api/purchase/sales', { token: otherSeller.token });
      expect(theirSales.body.items.map((s: { bookId: number; quantity: number }) => [s.bookId, s.quantity])).toEqual([[theirs.id, 1]]);
      const none = await request('GET', '/api/purchase/sales', { token: shopper.token });
      expect(none.status).toBe(200);
      expect(none.body).toMatchObject({ items: [], total: 0 });
      expectProblem(await request('GET', '/api/purchase/sales'), 401, 'unauthorized');
    });
  });

  describe('queue health', () => {
    it('/metrics reports BullMQ job counts per queue and state', async () => {
      const response = await fetch(`${store.url}/metrics`);
      expect(response.status).toBe(200);
      const text = await response.text();
      const lines = text.split('\n').filter((line) => line.startsWith('bookstore_queue_jobs{'));
      const completed = lines.find((line) => line.includes('queue="payments"') && line.includes('state="completed"'));
      expect(completed, lines.join('\n')).toBeDefined();
      expect(Number(completed!.split(' ').pop())).toBeGreaterThan(0);
      expect(lines.some((line) => line.includes('queue="deliveries"'))).toBe(true);
    });

    it('/admin/queues/stats: admin 200 with backend bullmq, customer 403, anonymous 401', async () => {
      const stats = await request('GET', '/api/purchase/admin/queues/stats', { token: adminToken });
      expect(stats.status).toBe(200);
      expect(stats.body.backend).toBe('bullmq');
      expect(stats.body.queues.payments.completed).toBeGreaterThan(0);
      expect(stats.body.queues.deliveries.completed).toBeGreaterThan(0);
      expectProblem(await request('GET', '/api/purchase/admin/queues/stats', { token: buyer.token }), 403, 'forbidden');
      expectProblem(await request('GET', '/api/purchase/admin/queues/stats'), 401, 'unauthorized');
    });

    it('the bull-board page: admin 200 HTML, customer 403, anonymous 401', async () => {
      const page = await fetch(`${store.url}/api/purchase/admin/queues`, { headers: { authorization: `Bearer ${adminToken}` } });
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await page.text()).toMatch(/<html/i);
      expectProblem(await request('GET', '/api/purchase/admin/queues', { token: buyer.token }), 403, 'forbidden');
      expectProblem(await request('GET', '/api/purchase/admin/queues'), 401, 'unauthorized');
      expectProblem(await request('GET', '/api/purchase/admin/queues/api/queues'), 401, 'unauthorized');
    });
  });

  describe('the catalog reservation', () => {
    it('answers concurrent calls for one order with one reservation, taking the stock once', async () => {
      const first = await createBook(seller.token, { priceCents: 700, stock: 6 });
      const second = await createBook(seller.token, { priceCents: 900, stock: 6 });
      const request = { orderId: randomUUID(), buyerId: buyer.user.id, items: [{ bookId: second.id, quantity: 2 }, { bookId: first.id, quantity: 1 }] };
      const catalog = catalogApi(store.context.services);
      const answers = await Promise.all(Array.from({ length: 8 }, () => catalog.reserveStock(request)));
      const expected = [
        { bookId: first.id, title: first.title, unitPriceCents: 700, quantity: 1, sellerId: seller.user.id },
        { bookId: second.id, title: second.title, unitPriceCents: 900, quantity: 2, sellerId: seller.user.id },
      ];
      for (const answer of answers) expect(answer).toEqual({ currency: 'USD', items: expected });
      expect([await dbStock(first.id), await dbStock(second.id)]).toEqual([5, 4]);
      expect(await catalog.reserveStock(request)).toEqual({ currency: 'USD', items: expected });
      expect([await dbStock(first.id), await dbStock(second.id)]).toEqual([5, 4]);
    });

    it('answers a repeated call with the reservation even when the stock it holds is now all gone', async () => {
      const book = await createBook(seller.token, { stock: 2 });
      const request = { orderId: randomUUID(), buyerId: buyer.user.id, items: [{ bookId: book.id, quantity: 2 }] };
      const catalog = catalogApi(store.context.services);
      const reserved = await catalog.reserveStock(request);
      expect(await dbStock(book.id)).toBe(0);
      expect(await catalog.reserveStock(request)).toEqual(reserved);
      expect(await dbStock(book.id)).toBe(0);
    });

    it('refuses the buyer’s own book, an unknown book and too few copies, in the order of the lines', async () => {
      const theirs = await createBook(seller.token, { stock: 1 });
      const catalog = catalogApi(store.context.services);
      const refusal = (items: { bookId: number; quantity: number }[]) => catalog.reserveStock({ orderId: randomUUID(), buyerId: seller.user.id, items }).catch((error: unknown) => error);
      expect(await refusal([{ bookId: 2_000_000_000, quantity: 1 }, { bookId: theirs.id, quantity: 1 }])).toMatchObject({ status: 404, code: 'not_found' });
      expect(await refusal([{ bookId: theirs.id, quantity: 5 }, { bookId: 2_000_000_000, quantity: 1 }])).toMatchObject({ status: 400, errors: [{ path: 'items.0.bookId' }] });
      const other = catalogApi(store.context.services).reserveStock({ orderId: randomUUID(), buyerId: buyer.user.id, items: [{ bookId: theirs.id, quantity: 5 }] });
      await expect(other).rejects.toMatchObject({ status: 409, code: 'insufficient_stock' });
      expect(await dbStock(theirs.id)).toBe(1);
    });
  });

  describe('the simulated gateway', () => {
    it('captures an ordinary card once, however many attempts charge it at the same time', async () => {
      const orderId = randomUUID();
      const input = { orderId, token: `sim_card_ok_${randomBytes(12).toString('hex')}`, amountCents: 1234, latencyMs: 0 };
      const outcomes = await Promise.all(Array.from({ length: 6 }, () => chargeOrder(store.context.db.em.fork(), input)));
      expect(outcomes).toEqual(Array(6).fill('captured'));
      expect(await charge(orderId)).toEqual({ status: 'captured', captures: 1, attempts: 1 });
    });

    it('declines a declined card every time, capturing nothing', async () => {
      const orderId = randomUUID();
      const input = { orderId, token: `sim_card_decline_${randomBytes(12).toString('hex')}`, amountCents: 1234, latencyMs: 0 };
      expect(await chargeOrder(store.context.db.em.fork(), input)).toBe('declined');
      expect(await chargeOrder(store.context.db.em.fork(), input)).toBe('declined');
      expect(await charge(orderId)).toMatchObject({ status: 'declined', captures: 0 });
    });
  });

  describe('delivery providers', () => {
    it('are read once a minute, not once per order', async () => {
      const now = Date.now() + 10 * PROVIDERS_FRESH_MS;
      expect(await deliveryProvider(store.context.db, 'courier-test')).toBeUndefined();
      await deliveryProviders(store.context.db, now);
      await db.query(`insert into purchase_delivery_providers (id, name, coverage, cost_cents) values ('courier-test', 'Courier', 'national', 100)`);
      try {
        expect((await deliveryProviders(store.context.db, now + 1000)).map((p) => p.id)).not.toContain('courier-test');
        expect((await deliveryProviders(store.context.db, now + PROVIDERS_FRESH_MS)).map((p) => p.id)).toContain('courier-test');
      } finally {
        await db.query(`delete from purchase_delivery_providers where id = 'courier-test'`);
        await deliveryProviders(store.context.db, now + 3 * PROVIDERS_FRESH_MS);
      }
    });
  });

  describe('the sweeper', () => {
    /** An order as a request that died between writing it and reserving its stock would leave it. */
    async function reservingOrder(buyerId: number, book: Book, quantity: number): Promise<string> {
      const id = randomUUID();
      const subtotal = book.priceCents * quantity;
      // The items first: the store's own sweeper (every 10 s) must never see the order without them.
      await db.query('insert into purchase_order_items (order_id, book_id, title, unit_price_cents, quantity, seller_id) values (?, ?, ?, ?, ?, ?)', [
        id,
        book.id,
        book.title,
        book.priceCents,
        quantity,
        book.sellerId,
      ]);
      await db.query(
        `insert into purchase_orders (id, buyer_id, status, subtotal_cents, delivery_cost_cents, total_cents, currency, delivery_provider_id,
           delivery_provider_name, shipping_address, payment_method, payment_status, payment_brand, payment_last4, payment_token,
           tracking_number, idempotency_key, request_hash, created_at, updated_at)
         values (?, ?, 'reserving', ?, ?, ?, 'USD', 'envia', 'Envia', ?, 'bank_transfer', 'pending', null, null, ?, null, null, null,
           utc_timestamp(3) - interval 1 minute, utc_timestamp(3) - interval 1 minute)`,
        [id, buyerId, subtotal, ENVIA_COST, subtotal + ENVIA_COST, JSON.stringify(SHIPPING), `sim_bank_transfer_ok_${randomBytes(12).toString('hex')}`],
      );
      return id;
    }

    it('completes an interrupted order: reserved once, then paid, shipped and delivered', async () => {
      const book = await createBook(seller.token, { priceCents: 1100, stock: 5 });
      const id = await reservingOrder(buyer.user.id, book, 2);
      expectProblem(await request('GET', `/api/purchase/orders/${id}`, { token: buyer.token }), 404, 'not_found');
      await sweepOnce(store.context);
      const swept = await readOrder(buyer.token, id);
      expect(swept.events[0]?.status).toBe('pending_payment');
      expect(FLOW).toContain(swept.status);
      expect(swept).toMatchObject({ items: [{ bookId: book.id, unitPriceCents: 1100, quantity: 2, sellerId: seller.user.id }], subtotalCents: 2200, totalCents: 2200 + ENVIA_COST });
      expect(await stockOf(book.id)).toBe(3);
      const delivered = await waitForStatus(buyer.token, id, 'delivered');
      expect(delivered.events.map((e) => e.status)).toEqual(['pending_payment', 'paid', 'shipped', 'delivered']);
      await sweepOnce(store.context);
      expect(await stockOf(book.id)).toBe(3);
      expect(await eventCounts(id)).toEqual({ pending_payment: 1, paid: 1, shipped: 1, delivered: 1 });
    });

    it('keeps the totals of an interrupted order equal to its items when the price moved before the sweep', async () => {
      // The request read the price (1000) and wrote the order, then died; the seller then raised the price.
      const book = await createBook(seller.token, { priceCents: 1000, stock: 5 });
      const id = await reservingOrder(buyer.user.id, book, 2);
      expect((await request('PATCH', `/api/catalog/books/${book.id}`, { token: seller.token, body: { priceCents: 3000 } })).status).toBe(200);
      await sweepOnce(store.context);
      const swept = await readOrder(buyer.token, id);
      const itemsSum = swept.items.reduce((sum, item) => sum + item.unitPriceCents * item.quantity, 0);
      expect(swept.subtotalCents).toBe(itemsSum);
      expect(swept.totalCents).toBe(swept.subtotalCents + swept.deliveryCostCents);
    });

    it('hands over a payment a crash left in the outbox, and leaves young messages to the process that wrote them', async () => {
      const book = await createBook(seller.token, { stock: 2 });
      const id = await reservingOrder(buyer.user.id, book, 1);
      await db.query(`update purchase_orders set status = 'pending_payment' where id = ?`, [id]);
      await db.query(`insert into purchase_order_events (order_id, status, detail, at) values (?, 'pending_payment', 'Order placed; stock reserved', utc_timestamp(3))`, [id]);
      const outbox = `insert into purchase_outbox (queue, job, order_id, available_at, created_at) values ('payments', 'pay', ?, utc_timestamp(3), utc_timestamp(3) - interval ? second)`;
      await db.query(outbox, [id, 60]);
      await db.query(outbox, [id, 0]);
      await outboxRelay(store.context).drain();
      const rows = (await db.query('select dispatched_at from purchase_outbox where order_id = ? order by id', [id])) as { dispatched_at: Date | null }[];
      expect(rows.map((row) => row.dispatched_at !== null)).toEqual([true, false]);
      const delivered = await waitForStatus(buyer.token, id, 'delivered');
      expect(delivered.events.map((e) => e.status)).toEqual(['pending_payment', 'paid', 'shipped', 'delivered']);
    });

    it('completes an order interrupted before the catalog priced its lines, with the catalog’s prices', async () => {
      const book = await createBook(seller.token, { priceCents: 1300, stock: 4 });
      const id = await reservingOrder(buyer.user.id, { ...book, title: '', priceCents: 0, sellerId: 0 }, 2);
      await sweepOnce(store.context);
      const swept = await readOrder(buyer.token, id);
      expect(swept).toMatchObject({ items: [{ bookId: book.id, title: book.title, unitPriceCents: 1300, quantity: 2, sellerId: seller.user.id }], subtotalCents: 2600, totalCents: 2600 + ENVIA_COST });
      expect(await dbStock(book.id)).toBe(2);
    });

    it('cancels an order interrupted before pricing whose stock is gone, showing what it was for', async () => {
      const book = await createBook(seller.token, { priceCents: 1500, stock: 1 });
      const id = await reservingOrder(buyer.user.id, { ...book, title: '', priceCents: 0, sellerId: 0 }, 3);
      await sweepOnce(store.context);
      const swept = await readOrder(buyer.token, id);
      expect(swept).toMatchObject({ status: 'cancelled', items: [{ bookId: book.id, title: book.title, unitPriceCents: 1500, quantity: 3, sellerId: seller.user.id }], subtotalCents: 4500, totalCents: 4500 + ENVIA_COST, currency: 'USD' });
      expect(await dbStock(book.id)).toBe(1);
    });

    it('cancels an interrupted order whose stock is gone, holding nothing', async () => {
      const book = await createBook(seller.token, { stock: 1 });
      const id = await reservingOrder(buyer.user.id, book, 3);
      await sweepOnce(store.context);
      const swept = await readOrder(buyer.token, id);
      expect(swept.status).toBe('cancelled');
      expect(swept.events).toEqual([{ status: 'cancelled', at: expect.any(String), detail: expect.any(String) }]);
      expect(await stockOf(book.id)).toBe(1);
      await sweepOnce(store.context);
      expect(await eventCounts(id)).toEqual({ cancelled: 1 });
      expect(await dbStock(book.id)).toBe(1);
    });
  });
});

describe.runIf(ready)('cancelling while paying or paid (payment takes 1 s, shipping a minute)', () => {
  let db: TestDatabase;
  let request: ApiRequest;
  let seller: User;
  let buyer: User;
  let other: User;
  const { createBook, stockOf, dbStock, placed, waitForStatus, readOrder, eventCounts, charge } = storeHelpers(
    () => request,
    () => db,
  );
  let stack: IsolatedStore;

  beforeAll(async () => {
    stack = await startIsolatedStore({
      // Half of the payment latency passes before the gateway captures and half after: a 1 s window.
      PAYMENT_DELAY_MS: '1000',
      DELIVERY_SHIP_DELAY_MS: '60000',
      DELIVERY_TRANSIT_DELAY_MS: '150',
    });
    ({ db, request } = stack);
    [seller, buyer, other] = await Promise.all([
      signUp(request, 'Sid Seller', nextAddress()),
      signUp(request, 'Bo Buyer', nextAddress()),
      signUp(request, 'Ola Other', nextAddress()),
    ]);
  });

  afterAll(() => stack?.close());

  it('answers 200 cancelled, gives the stock back and refunds the one capture; twice → 409', async () => {
    const book = await createBook(seller.token, { stock: 3, priceCents: 2000 });
    const created = await placed(buyer.token, [{ bookId: book.id, quantity: 2 }], CARD_OK);
    const paid = await waitForStatus(buyer.token, created.id, 'paid');
    expect(paid.status).toBe('paid');
    expect(paid.payment.status).toBe('captured');
    expect(await stockOf(book.id)).toBe(1);

    expectProblem(await request('POST', `/api/purchase/orders/${created.id}/cancel`, { token: other.token }), 404, 'not_found');
    expect((await readOrder(buyer.token, created.id)).status).toBe('paid');

    const cancelled = await request('POST', `/api/purchase/orders/${created.id}/cancel`, { token: buyer.token });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body.order).toMatchObject({ id: created.id, status: 'cancelled' });
    expect(await eventually(() => stockOf(book.id), (s) => s === 3)).toBe(3);
    const refunded = await eventually(
      () => readOrder(buyer.token, created.id),
      (o) => o.payment.status === 'refunded',
    );
    expect(refunded.payment).toEqual({ method: 'card', status: 'refunded', brand: 'visa', last4: '4242' });
    expect(refunded.events.map((e) => e.status)).toEqual(['pending_payment', 'paid', 'cancelled']);
    expect(await charge(created.id)).toMatchObject({ status: 'refunded', captures: 1 });

    expectProblem(await request('POST', `/api/purchase/orders/${created.id}/cancel`, { token: buyer.token }), 409, 'invalid_state');
    await sleep(300); // the queued compensation job runs too, and must change nothing
    expect(await dbStock(book.id)).toBe(3);
    expect(await eventCounts(created.id)).toEqual({ pending_payment: 1, paid: 1, cancelled: 1 });
    expect(await charge(created.id)).toMatchObject({ status: 'refunded', captures: 1 });
  });

  it('a payment that completes after the order was cancelled is refunded, and the order says so', async () => {
    const book = await createBook(seller.token, { stock: 2 });
    const created = await placed(buyer.token, [{ bookId: book.id, quantity: 1 }], CARD_OK);
    // The payment job has picked the order up (pending_payment) and is waiting on the gateway.
    await sleep(200);
    const cancelled = await request('POST', `/api/purchase/orders/${created.id}/cancel`, { token: buyer.token });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body.order.status).toBe('cancelled');
    expect(await stockOf(book.id)).toBe(2);

    // Let the job finish its round trip to the gateway, and its compensation run.
    await sleep(1500);
    const later = await readOrder(buyer.token, created.id);
    expect(later.status).toBe('cancelled');
    expect(later.events.map((e) => e.status)).toEqual(['pending_payment', 'cancelled']);
    const gateway = await charge(created.id);
    // Whether or not the gateway captured, no money is kept, and the order tells the buyer which it was.
    expect(gateway?.status ?? 'none').not.toBe('captured');
    expect(later.payment.status).toBe(gateway?.captures === 1 ? 'refunded' : 'voided');
    expect(await dbStock(book.id)).toBe(2);
  });
});
