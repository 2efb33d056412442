import type { SSEStreamingApi } from 'hono/streaming';
import { Gauge } from 'prom-client';
import type { Caller } from '../../kernel/auth-context.js';
import type { PurchaseContext } from './context.js';
import type { OrderWatch } from './order-changes.js';
import type { OrderView } from './schemas.js';
import { readOrder } from './service.js';
import { describeFailure } from './unplaced.js';

/*
 * An order followed live (GET /orders/{id}/events, Server-Sent Events): each event of the order's
 * history goes out once, as `event: status`, with its 1-based position in the order's `events` as
 * its id and the event itself (`{status, at, detail?}`, as the order's JSON has it) as its data.
 * The stream starts with the latest event, or after the client's Last-Event-ID, and ends once the
 * order's final event is out. Between moves it sends a heartbeat comment and reads the order
 * again, so a move whose announcement never arrived still shows within one heartbeat.
 */

/** States an order never leaves: its stream ends once their event is out. */
const FINAL: readonly string[] = ['delivered', 'cancelled', 'payment_failed'];

/** How long an EventSource waits before it reconnects, sent once at the start of every stream. */
export const RECONNECT_MS = 3000;

/**
 * How many of the order's events the client already has: all up to its Last-Event-ID when that is
 * one of the order's event ids, else all but the latest (which then goes first, as its current status).
 */
export function eventsKnown(lastEventId: string | undefined, events: number): number {
  const id = lastEventId?.trim() ?? '';
  if (/^[1-9]\d{0,8}$/.test(id) && Number(id) <= events) return Number(id);
  return Math.max(0, events - 1);
}

/** The order has ended and the client has its last event: there is nothing to stream, ever. */
export function nothingMoreFor(order: OrderView, known: number): boolean {
  return FINAL.includes(order.status) && known >= order.events.length;
}

/** One stream: who follows which order, what they have, and the order as last read. */
export interface Follower {
  caller: Caller;
  watch: OrderWatch;
  order: OrderView;
  known: number;
}

/**
 * Writes the stream until the order's final event is out, the client leaves or the module stops.
 * Never throws: a failed read is logged and tried again at the next heartbeat.
 */
export async function followOrder(ctx: PurchaseContext, stream: SSEStreamingApi, follower: Follower): Promise<void> {
  const { watch } = follower;
  stream.onAbort(() => watch.close());
  const heartbeatMs = ctx.settings.eventStreams.heartbeatMs;
  let { order, known } = follower;
  try {
    await stream.write(`retry: ${RECONNECT_MS}\n\n`);
    let lastWrite = Date.now();
    for (;;) {
      if (known < order.events.length) lastWrite = Date.now();
      known = await sendNew(stream, order, known);
      if (nothingMoreFor(order, known)) return;
      const heard = await watch.next(Math.max(0, lastWrite + heartbeatMs - Date.now()));
      if (heard === 'ended') return;
      if (heard === 'quiet') {
        await stream.write(': heartbeat\n\n');
        lastWrite = Date.now();
      }
      order = (await readAgain(ctx, follower.caller, order)) ?? order;
    }
  } finally {
    watch.close();
  }
}

/** The events after the first `known`, in order; answers how many the client has now. */
async function sendNew(stream: SSEStreamingApi, order: OrderView, known: number): Promise<number> {
  for (let index = known; index < order.events.length; index++) {
    await stream.writeSSE({ event: 'status', id: String(index + 1), data: JSON.stringify(order.events[index]) });
  }
  return Math.max(known, order.events.length);
}

/** The order as the database has it now, with the caller's right to it checked again; undefined when it cannot be read now. */
async function readAgain(ctx: PurchaseContext, caller: Caller, order: OrderView): Promise<OrderView | undefined> {
  try {
    return await readOrder(ctx.db.em.fork(), caller, order.id);
  } catch (error) {
    ctx.logger.warn({ orderId: order.id, ...describeFailure(error) }, 'order event stream could not read the order; trying again at the next heartbeat');
    return undefined;
  }
}

/** `bookstore_order_event_streams` on /metrics: registered once per process, by the module that serves the streams. */
export function registerStreamMetrics(ctx: PurchaseContext): void {
  new Gauge({
    name: 'bookstore_order_event_streams',
    help: 'Order event streams (GET /api/purchase/orders/{id}/events) open in this process',
    registers: [ctx.metrics.registry],
    collect() {
      this.set(ctx.changes.listenerCount);
    },
  });
}
