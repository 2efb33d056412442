/**
 * Live order tracking through the stack on loopback (see loopback.ts): GET
 * /api/purchase/orders/{id}/events over HTTPS through NGINX, with stack.yml's two purchase
 * processes behind it and the payment and delivery workers in processes of their own, on MariaDB
 * and Redis. The moves are made in other processes than the one holding a stream, so every event
 * crosses Redis pub/sub; the heartbeat is a minute here, so none may come from the heartbeat's read.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, servicesAvailable, testRedis, uniqueEmail, type TestDatabase, type TestRedis } from '../harness.js';
import type { SseReader } from '../sse.testkit.js';
import { http2Request, httpsClient, httpsEventStream, type HttpsClient } from './https.js';
import { LoopbackStack, nginxAvailable, ROOT } from './loopback.js';

const FILE = 'test/stack/order-events.test.ts';
const ready = nginxAvailable(FILE) && (await servicesAvailable(FILE, ['mysql', 'redis']));

const PASSWORD = 'correct horse battery';
const CARD = { method: 'card', cardNumber: '4242424242424242', expMonth: 12, expYear: 2040, cvc: '123' };
const ADDRESS = { name: 'Ada Buyer', line1: '1 Loopback Lane', city: 'Localhost', country: 'CO' };
const DELAYS = { PAYMENT_DELAY_MS: '300', DELIVERY_SHIP_DELAY_MS: '1500', DELIVERY_TRANSIT_DELAY_MS: '1500', ORDER_EVENTS_HEARTBEAT_MS: '60000' };
const FLOW = ['pending_payment', 'paid', 'shipped', 'delivered'];

interface Arrived {
  id: string;
  status: string;
  at: string;
  detail?: string;
  /** When the client read it. */
  receivedAt: number;
}

/** Status events until the stream ends (or `count` of them), each with when it arrived. */
async function statuses(reader: SseReader, count = Infinity): Promise<Arrived[]> {
  const events: Arrived[] = [];
  while (events.length < count) {
    const message = await reader.next(15_000);
    if (!message) break;
    if (message.event === 'status') events.push({ id: message.id!, ...JSON.parse(message.data), receivedAt: Date.now() });
  }
  return events;
}

const withoutArrival = (events: Arrived[]) => events.map(({ receivedAt: _, ...event }) => event);

describe.runIf(ready)('order events through NGINX, two purchase processes, workers elsewhere', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let certs: string;
  let ca: string;
  let stack: LoopbackStack;
  let api: HttpsClient;
  let buyer: string;
  let bookId: number;

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = testRedis();
    certs = mkdtempSync(join(tmpdir(), 'bookstore-certs-'));
    execFileSync('sh', [join(ROOT, 'docker/certs/make-local-ca.sh'), certs], { stdio: 'pipe' });
    ca = readFileSync(join(certs, 'ca.crt'), 'utf8');
    stack = new LoopbackStack({ databaseUrl: db.url, redis: { url: redis.url, prefix: redis.prefix }, tls: { cert: join(certs, 'server.crt'), key: join(certs, 'server.key') }, extraEnv: DELAYS });
    await stack.start();
    api = httpsClient(stack.httpsPort, ca);
    const seller = await signIn('Seller');
    buyer = await signIn('Buyer');
    const book = await api('POST', '/api/catalog/books', { token: seller, body: { title: 'Followed Closely', author: 'Loop Back', priceCents: 1500, stock: 50 } });
    expect(book.status, book.text).toBe(201);
    bookId = book.body.book.id as number;
  }, 180_000);

  afterAll(async () => {
    api?.close();
    await stack?.stop();
    await db?.drop();
    await redis?.drop();
    if (certs) rmSync(certs, { recursive: true, force: true });
  }, 60_000);

  async function signIn(name: string): Promise<string> {
    const email = uniqueEmail(name.toLowerCase());
    expect((await api('POST', '/api/auth/register', { body: { name, email, password: PASSWORD } })).status).toBe(201);
    const login = await api('POST', '/api/auth/login', { body: { email, password: PASSWORD } });
    expect(login.status, login.text).toBe(200);
    return login.body.token as string;
  }

  async function placeOrder(): Promise<string> {
    const placed = await api('POST', '/api/purchase/orders', { token: buyer, body: { items: [{ bookId, quantity: 1 }], deliveryProviderId: 'dhl', shippingAddress: ADDRESS, payment: CARD } });
    expect(placed.status, placed.text).toBe(201);
    return placed.body.order.id as string;
  }

  async function follow(orderId: string, lastEventId?: string): Promise<SseReader> {
    const headers: Record<string, string> = { authorization: `Bearer ${buyer}`, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) };
    const reply = await httpsEventStream(stack.httpsPort, ca, `/api/purchase/orders/${orderId}/events`, headers);
    expect(reply.status, reply.text).toBe(200);
    expect(reply.headers['content-type']).toBe('text/event-stream');
    expect(reply.headers['content-encoding']).toBeUndefined();
    return reply.reader!;
  }

  async function eventsOf(orderId: string) {
    const read = await api('GET', `/api/purchase/orders/${orderId}`, { token: buyer });
    expect(read.status, read.text).toBe(200);
    return (read.body.order.events as { status: string }[]).map((event, index) => ({ id: String(index + 1), ...event }));
  }

  it('a buyer sees every status in order, each as it happens, and the stream ends at delivered', async () => {
    const orderId = await placeOrder();
    const events = await statuses(await follow(orderId));
    expect(events.map((event) => [event.id, event.status])).toEqual(FLOW.map((status, index) => [String(index + 1), status]));
    expect(withoutArrival(events)).toEqual(await eventsOf(orderId));
    // Passed on as written, not held by NGINX until the end: shipped came a transit delay before delivered.
    expect(events[3]!.receivedAt - events[2]!.receivedAt).toBeGreaterThan(1000);
  });

  it('streams held by both purchase processes hear a cancel made through either', async () => {
    const orderId = await placeOrder();
    const readers = await Promise.all([1, 2, 3, 4].map(() => follow(orderId)));
    for (const reader of readers) expect((await statuses(reader, 1))[0]).toMatchObject({ id: '1', status: 'pending_payment' });
    const path = `/api/purchase/orders/${orderId}/events`;
    expect(stack.running('purchase').map((replica) => replica.requestsFor(path) > 0)).toEqual([true, true]);

    const cancelled = await api('POST', `/api/purchase/orders/${orderId}/cancel`, { token: buyer });
    expect(cancelled.status, cancelled.text).toBe(200);
    for (const reader of readers) expect((await statuses(reader)).map((event) => [event.id, event.status])).toEqual([['2', 'cancelled']]);
  });

  it('a reconnect with Last-Event-ID misses nothing, on whichever purchase process it lands', async () => {
    const orderId = await placeOrder();
    const first = await follow(orderId);
    const seen = await statuses(first, 2);
    first.close();
    expect(seen.map((event) => event.status)).toEqual(['pending_payment', 'paid']);

    const again = await follow(orderId, seen[1]!.id);
    seen.push(...(await statuses(again)));
    expect(withoutArrival(seen)).toEqual(await eventsOf(orderId));
    expect(seen.map((event) => event.id)).toEqual(['1', '2', '3', '4']);

    const done = await httpsEventStream(stack.httpsPort, ca, `/api/purchase/orders/${orderId}/events`, { authorization: `Bearer ${buyer}`, 'last-event-id': '4' });
    expect(done.status).toBe(204);
  });

  it('over HTTP/2 too: a delivered order answers its latest event, and the stream ends', async () => {
    const orderId = await placeOrder();
    await statuses(await follow(orderId));
    const reply = await http2Request(stack.httpsPort, ca, 'GET', `/api/purchase/orders/${orderId}/events`, { authorization: `Bearer ${buyer}` });
    expect(reply.alpn).toBe('h2');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/event-stream');
    expect(reply.text).toMatch(/^retry: 3000\n\nevent: status\ndata: \{"status":"delivered",[^\n]*\}\nid: 4\n\n$/);
  });
});
