import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { describeRoute } from 'hono-openapi';
import * as v from 'valibot';
import type { AppEnv } from '../../kernel/app.js';
import { adminOnly, callerOf, signedIn } from '../../kernel/auth-context.js';
import type { PurchaseContext } from './context.js';
import { jsonContent, pageOf, problemContent, signedInSecurity } from '../../kernel/openapi.js';
import { Problem, notFound } from '../../kernel/problem.js';
import { pageQuery, valid } from '../../kernel/validation.js';
import * as purchase from './service.js';
import { DELIVERIES, PAYMENTS } from './order-jobs.js';
import { RECONNECT_MS, eventsKnown, followOrder, nothingMoreFor } from './order-events.js';
import { DeliveryProviderSchema, OrderRequest, OrderSchema, SaleSchema } from './schemas.js';

const OrderEnvelope = v.object({ order: OrderSchema });
const invalid = problemContent('Invalid request (validation_failed or malformed_json)');
const notSignedIn = problemContent('Not signed in (unauthorized)');
const noSuchOrder = problemContent('No such order among yours (not_found), whether or not it exists');
const orderId = { name: 'id', in: 'path' as const, required: true, schema: { type: 'string' as const, format: 'uuid' } };
const QUEUES_PATH = '/admin/queues';

/** Order ids are the UUIDs the store issues, lower-case as randomUUID writes them. */
const ORDER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Any other text names no order: 404 without asking the database, and alike on every backend (MariaDB would ignore case). */
function orderIdFrom(path: string): string {
  if (!ORDER_ID.test(path)) throw notFound('order');
  return path;
}

function idempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(header)) {
    throw new Problem(400, 'validation_failed', 'Invalid Idempotency-Key header.', [{ path: 'Idempotency-Key', message: 'must be 1-255 visible ASCII characters' }]);
  }
  return header;
}

/** The operator's view of the job queues (bull-board), for administrators only. */
function queueBoard(ctx: PurchaseContext, app: Hono<AppEnv>) {
  const queues = ctx.jobs.bullQueues([PAYMENTS, DELIVERIES]);
  app.get(`${QUEUES_PATH}/stats`, adminOnly, async (c) => {
    const stats = Object.fromEntries(await Promise.all([PAYMENTS, DELIVERIES].map(async (q) => [q, await ctx.jobs.counts(q)] as const)));
    return c.json({ backend: ctx.jobs.kind, queues: stats });
  });
  if (queues.length === 0) return;
  const board = new HonoAdapter(serveStatic);
  createBullBoard({ queues: queues.map((queue) => new BullMQAdapter(queue)), serverAdapter: board });
  board.setBasePath(`/api/purchase${QUEUES_PATH}`);
  app.use(`${QUEUES_PATH}/*`, adminOnly);
  app.use(QUEUES_PATH, adminOnly);
  app.use(`${QUEUES_PATH}/*`, async (c, next) => {
    await next();
    c.header('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline' https://fonts.googleapis.com; font-src 'self' https://fonts.gstatic.com; frame-ancestors 'none'");
  });
  app.route(QUEUES_PATH, board.registerPlugin());
}

/** The purchase module's public routes, one named step per route, in the order they are matched. */
export function purchaseRoutes(ctx: PurchaseContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  listDeliveryProviders(app, ctx);
  placeOrder(app, ctx);
  listOrders(app);
  readOrder(app);
  followOrderEvents(app, ctx);
  cancelOrder(app, ctx);
  listSales(app);
  queueBoard(ctx, app);
  return app;
}

/** `GET /delivery-providers`: who can deliver, where, at what cost. */
function listDeliveryProviders(app: Hono<AppEnv>, ctx: PurchaseContext): void {
  app.get(
    '/delivery-providers',
    describeRoute({ tags: ['purchase'], summary: 'Delivery providers with their coverage and cost', responses: { 200: jsonContent(v.object({ items: v.array(DeliveryProviderSchema) }), 'All providers') } }),
    async (c) => c.json({ items: await purchase.listDeliveryProviders(ctx) }),
  );
}

/** `POST /orders`: the buyer places an order; an Idempotency-Key makes retrying it safe. */
function placeOrder(app: Hono<AppEnv>, ctx: PurchaseContext): void {
  app.post(
    '/orders',
    describeRoute({
      tags: ['purchase'],
      summary: 'Place an order; prices come from the catalog, stock is reserved all-or-nothing',
      description:
        'Send `Idempotency-Key` to make retries safe: the same key and body answer the same order, the same key with another body answers 422. Card numbers must pass the Luhn check; only brand and last 4 digits are stored.',
      security: signedInSecurity,
      parameters: [{ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 255 } }],
      responses: {
        201: jsonContent(OrderEnvelope, 'The order, in pending_payment'),
        400: problemContent('Invalid request, unknown delivery provider, or one of your own books (validation_failed)'),
        401: notSignedIn,
        404: problemContent('A book that is not in the catalog (not_found)'),
        409: problemContent('Not enough stock for an item (insufficient_stock); nothing was reserved'),
        422: problemContent('Idempotency-Key reused with a different body (idempotency_key_reused)'),
      },
    }),
    signedIn,
    valid('json', OrderRequest),
    async (c) => {
      const key = idempotencyKey(c.req.header('idempotency-key'));
      const { order, replayed } = await purchase.placeOrder(ctx, c.var.em, callerOf(c), c.req.valid('json'), key);
      if (replayed) c.header('Idempotent-Replayed', 'true');
      return c.json({ order }, 201);
    },
  );
}

/** `GET /orders`: the caller's orders, newest first. */
function listOrders(app: Hono<AppEnv>): void {
  app.get(
    '/orders',
    describeRoute({ tags: ['purchase'], summary: 'Your orders, newest first', security: signedInSecurity, responses: { 200: jsonContent(pageOf(OrderSchema), 'A page of orders'), 400: invalid, 401: notSignedIn } }),
    signedIn,
    valid('query', v.object(pageQuery)),
    async (c) => {
      const { page, limit } = c.req.valid('query');
      return c.json(await purchase.listOrders(c.var.em, callerOf(c).id, page, limit));
    },
  );
}

/** `GET /orders/{id}`: one of the caller's orders; administrators may read any. */
function readOrder(app: Hono<AppEnv>): void {
  app.get(
    '/orders/:id',
    describeRoute({ tags: ['purchase'], summary: 'One of your orders (administrators: any order)', security: signedInSecurity, parameters: [orderId], responses: { 200: jsonContent(OrderEnvelope, 'The order'), 401: notSignedIn, 404: noSuchOrder } }),
    signedIn,
    async (c) => c.json({ order: await purchase.readOrder(c.var.em, callerOf(c), orderIdFrom(c.req.param('id'))) }),
  );
}

const ORDER_EVENTS_DESCRIPTION = `Server-Sent Events, one per entry of the order's \`events\`, in order: \`event: status\`, \`id:\` the entry's 1-based position in \`events\`, \`data:\` the entry as JSON (\`{"status", "at", "detail"?}\`). \
The stream opens with \`retry: ${RECONNECT_MS}\` and the latest entry (the current status); with \`Last-Event-ID: n\` it sends every entry after the n-th instead, so a client that reconnects misses nothing (an id the order does not have counts as none). \
Then one event per status change, and a \`: heartbeat\` comment whenever nothing was sent for ORDER_EVENTS_HEARTBEAT_MS (15 s). \
The server ends the stream once the final status (delivered, cancelled, payment_failed) is sent; a request whose Last-Event-ID is already that status is answered 204, which tells an EventSource to stop reconnecting.`;

/** `GET /orders/{id}/events`: the order's statuses as they happen (order-events.ts). */
function followOrderEvents(app: Hono<AppEnv>, ctx: PurchaseContext): void {
  app.get(
    '/orders/:id/events',
    describeRoute({
      tags: ['purchase'],
      summary: 'Follow one of your orders live (Server-Sent Events); administrators: any order',
      description: ORDER_EVENTS_DESCRIPTION,
      security: signedInSecurity,
      parameters: [orderId, { name: 'Last-Event-ID', in: 'header', required: false, description: 'The id of the last event received: the stream resumes after it', schema: { type: 'string' } }],
      responses: {
        200: { description: 'The stream of status events (text/event-stream)', content: { 'text/event-stream': { schema: { type: 'string' } } } },
        204: { description: 'The order has ended and Last-Event-ID is its final event: nothing more will come' },
        401: notSignedIn,
        404: noSuchOrder,
      },
    }),
    signedIn,
    (c) => orderEventStream(c, ctx),
  );
}

/** The order's event stream; or 204 when the client already has its final event, or the headers alone for HEAD. */
async function orderEventStream(c: Context<AppEnv>, ctx: PurchaseContext): Promise<Response> {
  const caller = callerOf(c);
  const id = orderIdFrom(c.req.param('id') ?? '');
  // Followed before it is read, so that no move between the read and the first wait goes unheard.
  const watch = ctx.changes.watch(id);
  const order = await purchase.readOrder(c.var.em, caller, id).catch((error: unknown) => {
    watch.close();
    throw error;
  });
  const known = eventsKnown(c.req.header('last-event-id'), order.events.length);
  const ended = nothingMoreFor(order, known);
  if (ended || c.req.method === 'HEAD') {
    watch.close();
    // 204 tells an EventSource to stop reconnecting; HEAD gets the headers a stream would have.
    return ended ? c.body(null, 204) : c.body(null, 200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
  }
  // NGINX passes each event on as it comes instead of buffering the answer.
  c.header('X-Accel-Buffering', 'no');
  const response = streamSSE(c, (stream) => followOrder(ctx, stream, { caller, watch, order, known }));
  // Personal and live: no cache keeps it (streamSSE says no-cache).
  response.headers.set('Cache-Control', 'no-store');
  return response;
}

/** `POST /orders/{id}/cancel`: the buyer cancels an order that has not shipped. */
function cancelOrder(app: Hono<AppEnv>, ctx: PurchaseContext): void {
  app.post(
    '/orders/:id/cancel',
    describeRoute({
      tags: ['purchase'],
      summary: 'Cancel an order before it ships: stock goes back, a captured payment is refunded',
      security: signedInSecurity,
      parameters: [orderId],
      responses: { 200: jsonContent(OrderEnvelope, 'The cancelled order'), 401: notSignedIn, 404: noSuchOrder, 409: problemContent('Already shipped, delivered, failed or cancelled (invalid_state)') },
    }),
    signedIn,
    async (c) => c.json({ order: await purchase.cancelOrder(ctx, c.var.em, callerOf(c), orderIdFrom(c.req.param('id'))) }),
  );
}

/** `GET /sales`: order lines of the books the caller sells, newest first. */
function listSales(app: Hono<AppEnv>): void {
  app.get(
    '/sales',
    describeRoute({ tags: ['purchase'], summary: 'Order lines of the books you sell, newest first', security: signedInSecurity, responses: { 200: jsonContent(pageOf(SaleSchema), 'A page of sales'), 400: invalid, 401: notSignedIn } }),
    signedIn,
    valid('query', v.object(pageQuery)),
    async (c) => {
      const { page, limit } = c.req.valid('query');
      return c.json(await purchase.listSales(c.var.em, callerOf(c).id, page, limit));
    },
  );
}
