/**
 * Path ids that cannot be ids, on both backends: `404 not_found` like any id that names nothing,
 * answered before any statement carries them, so that no backend sees them and none answers
 * differently (a NUL byte, case that MariaDB would ignore and SQLite would not).
 */
import { expect, it, vi } from 'vitest';
import { describeOnEachBackend, expectProblem, signUp, type BackendStore } from './harness.js';

const NOT_BOOK_IDS = ['%00', 'abc', '99999999999999999999', '2147483648', '0', '-1', '1.5', '1e3', '%201', '1%00'];
const NOT_ORDER_IDS = ['%00', 'not-an-id', 'order-1', 'a%07b', 'deadbeef-0000-4000-8000-00000000000%00'];
const BOOK = { title: 'Path Id Book', author: 'Some Author', priceCents: 900, stock: 5 };
const SHIPPING = { name: 'Bea Buyer', line1: 'Calle 10 # 4-21', city: 'Bogotá', country: 'CO' };

/**
 * What reached the database while `action` ran: each statement's SQL and values, and the
 * transactions the catalog began. The store's own background work (the outbox relay, the sweeper)
 * may begin transactions meanwhile, so a transaction counts only when the catalog's code began it.
 */
async function databaseWorkDuring(store: BackendStore, action: () => Promise<void>) {
  const connection = store.store.context.db.em.getConnection();
  const execute = vi.spyOn(connection, 'execute');
  const begin = connection.begin.bind(connection);
  const beganBy: string[] = [];
  const spy = vi.spyOn(connection, 'begin').mockImplementation((...args) => {
    // Deep enough to reach the caller through MikroORM's own frames.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 50;
    beganBy.push(new Error().stack ?? '');
    Error.stackTraceLimit = limit;
    return begin(...args);
  });
  try {
    await action();
    const statements = execute.mock.calls.map(([query, params]) => ({ sql: String(query), params: params ?? [] }));
    return { statements, transactions: beganBy.filter((stack) => stack.includes('modules/catalog/')).length };
  } finally {
    spy.mockRestore();
    execute.mockRestore();
  }
}

describeOnEachBackend('path ids that are not ids', (store) => {
  let people: Promise<{ seller: string; buyer: string; bookId: number }> | undefined;
  const setUp = () =>
    (people ??= (async () => {
      const { request } = store();
      const seller = (await signUp(request, 'Path Seller')).token;
      const buyer = (await signUp(request, 'Path Buyer')).token;
      const created = await request('POST', '/api/catalog/books', { token: seller, body: BOOK });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      return { seller, buyer, bookId: created.body.book.id as number };
    })());

  it.each(NOT_BOOK_IDS)('/api/catalog/books/%s is 404 on GET, PATCH and DELETE, whatever the body', async (id) => {
    const { seller } = await setUp();
    const { request } = store();
    expectProblem(await request('GET', `/api/catalog/books/${id}`), 404, 'not_found');
    // The id names no book at all, so there is nothing to judge a body against: 404 before a 400.
    expectProblem(await request('PATCH', `/api/catalog/books/${id}`, { token: seller, body: { priceCents: 'free' } }), 404, 'not_found');
    expectProblem(await request('PATCH', `/api/catalog/books/${id}`, { token: seller, body: { title: 'A fine title' } }), 404, 'not_found');
    expectProblem(await request('DELETE', `/api/catalog/books/${id}`, { token: seller }), 404, 'not_found');
  });

  it('a book path id that is not an id reaches no statement, and signing in still comes first', async () => {
    const { seller } = await setUp();
    const { request } = store();
    const work = await databaseWorkDuring(store(), async () => {
      expectProblem(await request('PATCH', `/api/catalog/books/abc`, { token: seller, body: { title: 'A fine title' } }), 404, 'not_found');
      expectProblem(await request('DELETE', `/api/catalog/books/abc`, { token: seller }), 404, 'not_found');
    });
    expect(work.statements.filter((statement) => statement.sql.includes('catalog_books'))).toEqual([]);
    expect(work.transactions).toBe(0);
    expectProblem(await request('PATCH', '/api/catalog/books/abc', { body: { title: 'A fine title' } }), 401, 'unauthorized');
  });

  it.each(NOT_ORDER_IDS)('/api/purchase/orders/%s is 404 on GET and on cancel, without a statement carrying it', async (id) => {
    const { buyer } = await setUp();
    const { request } = store();
    const work = await databaseWorkDuring(store(), async () => {
      expectProblem(await request('GET', `/api/purchase/orders/${id}`, { token: buyer }), 404, 'not_found');
      expectProblem(await request('POST', `/api/purchase/orders/${id}/cancel`, { token: buyer }), 404, 'not_found');
    });
    const sent = decodeURIComponent(id);
    expect(work.statements.filter((statement) => statement.params.includes(sent) || statement.sql.includes(sent))).toEqual([]);
    expectProblem(await request('GET', `/api/purchase/orders/${id}`), 401, 'unauthorized');
  });

  it('an order id is the id as issued: the same letters in capitals are 404 on both backends', async () => {
    const { buyer, bookId } = await setUp();
    const { request } = store();
    const order = { items: [{ bookId, quantity: 1 }], deliveryProviderId: 'envia', shippingAddress: SHIPPING, payment: { method: 'bank_transfer' } };
    const placed = await request('POST', '/api/purchase/orders', { token: buyer, body: order });
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    const id = placed.body.order.id as string;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect((await request('GET', `/api/purchase/orders/${id}`, { token: buyer })).status).toBe(200);
    expectProblem(await request('GET', `/api/purchase/orders/${id.toUpperCase()}`, { token: buyer }), 404, 'not_found');
    expectProblem(await request('POST', `/api/purchase/orders/${id.toUpperCase()}/cancel`, { token: buyer }), 404, 'not_found');
    expect((await request('GET', `/api/purchase/orders/${id}`, { token: buyer })).body.order.status).not.toBe('cancelled');
  });
});
