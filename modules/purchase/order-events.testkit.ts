/**
 * Helpers for the tests of GET /orders/{id}/events (orders.events*.test.ts): following an order as a
 * browser's EventSource would, and reading its status events. Not a test file itself.
 */
import { expect } from 'vitest';
import type { BackendStore } from '../../test/harness.js';
import { openSse, type SseAnswer, type SseReader } from '../../test/sse.testkit.js';
import { purchaseModule } from './index.js';
import { CARD_OK, SHIPPING } from './orders.testkit.js';

export const CARD_DECLINED = { ...CARD_OK, cardNumber: '4000000000000002' };
/** The states an order goes through when all is well. */
export const FLOW = ['pending_payment', 'paid', 'shipped', 'delivered'];

/** One `event: status` message: its id, and the order's event it carries. */
export interface StatusEvent {
  id: string;
  status: string;
  at: string;
  detail?: string;
}

export interface Credentials {
  token?: string;
  /** A `Set-Cookie` value as the login answered it; only its `name=value` is sent back. */
  cookie?: string;
}

export async function placeOrder(store: BackendStore, token: string, bookId: number, payment: object = CARD_OK): Promise<string> {
  const body = { items: [{ bookId, quantity: 1 }], deliveryProviderId: 'envia', shippingAddress: SHIPPING, payment };
  const placed = await store.request('POST', '/api/purchase/orders', { token, body });
  expect(placed.status, JSON.stringify(placed.body)).toBe(201);
  return placed.body.order.id as string;
}

/** GET /api/purchase/orders/{id}/events, signed in as `who`, optionally resuming after `lastEventId`. */
export function follow(store: BackendStore, orderId: string, who: Credentials, lastEventId?: string): Promise<SseAnswer> {
  const headers: Record<string, string> = {};
  if (who.token) headers.authorization = `Bearer ${who.token}`;
  if (who.cookie) headers.cookie = who.cookie.split(';')[0]!;
  if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
  return openSse(`${store.store.url}/api/purchase/orders/${orderId}/events`, headers);
}

/** Follows an order that must answer with a stream; answers its reader. */
export async function stream(store: BackendStore, orderId: string, who: Credentials, lastEventId?: string): Promise<SseReader> {
  const answer = await follow(store, orderId, who, lastEventId);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  expect(answer.headers.get('content-type')).toBe('text/event-stream');
  return answer.reader!;
}

/** The next status event, past comments and the `retry:` block; throws if the stream ends first. */
export async function nextStatus(reader: SseReader, timeoutMs = 10_000): Promise<StatusEvent> {
  for (;;) {
    const message = await reader.next(timeoutMs);
    if (!message) throw new Error('the stream ended before the next status event');
    if (message.event !== 'status') continue;
    expect(message.id, 'every status event has an id').toMatch(/^[1-9]\d*$/);
    return { id: message.id!, ...(JSON.parse(message.data) as Omit<StatusEvent, 'id'>) };
  }
}

/** Every status event until the server ends the stream. */
export async function statusesUntilEnd(reader: SseReader, timeoutMs = 10_000): Promise<StatusEvent[]> {
  const events: StatusEvent[] = [];
  for (;;) {
    const message = await reader.next(timeoutMs);
    if (!message) return events;
    if (message.event === 'status') events.push({ id: message.id!, ...(JSON.parse(message.data) as Omit<StatusEvent, 'id'>) });
  }
}

/** The order's `events` as GET /orders/{id} shows them, each with the id its stream gives it. */
export async function orderEvents(store: BackendStore, token: string, orderId: string): Promise<StatusEvent[]> {
  const read = await store.request('GET', `/api/purchase/orders/${orderId}`, { token });
  expect(read.status, JSON.stringify(read.body)).toBe(200);
  return (read.body.order.events as Omit<StatusEvent, 'id'>[]).map((event, index) => ({ id: String(index + 1), ...event }));
}

/** Open event streams in the store's purchase module. */
export const openStreams = (store: BackendStore) => store.store.instanceOf(purchaseModule).changes.listenerCount;

/** Waits until the store counts `count` open streams; answers the last count. */
export async function streamsBecome(store: BackendStore, count: number, timeoutMs = 5000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (openStreams(store) !== count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  return openStreams(store);
}

/** `bookstore_order_event_streams` as /metrics reports it. */
export async function streamsGauge(store: BackendStore): Promise<number | undefined> {
  const text = await fetch(`${store.store.url}/metrics`).then((response) => response.text());
  const line = /^bookstore_order_event_streams(?:\{[^}]*\})? (\d+)$/m.exec(text);
  return line ? Number(line[1]) : undefined;
}
