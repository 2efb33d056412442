/**
 * Helpers for the catalog's per-backend tests (describeOnEachBackend): sellers, buyers, books and
 * orders through the real API. Not a test file itself.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { signUp, type BackendStore } from '../../test/harness.js';

export type User = Awaited<ReturnType<typeof signUp>>;

let addressCounter = 0;
/** A client address of its own for every user, so the registrations-per-address limit never bites. */
export function nextAddress(): string {
  addressCounter += 1;
  return `10.93.${Math.floor(addressCounter / 250)}.${(addressCounter % 250) + 1}`;
}

export const newUser = (store: BackendStore, name = 'Sam Seller') => signUp(store.request, name, nextAddress());

/** A new listing and the ETag its 201 carried. */
export async function listBook(store: BackendStore, token: string, fields: Record<string, unknown> = {}) {
  const body = { title: `Book ${randomBytes(4).toString('hex')}`, author: 'Some Writer', priceCents: 1000, stock: 3, ...fields };
  const response = await store.request('POST', '/api/catalog/books', { token, body });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return { book: response.body.book as { id: number; stock: number; title: string; priceCents: number }, etag: response.headers.get('etag') };
}

/** The book's row as the table holds it (no cache in between). */
export async function bookRow(store: BackendStore, bookId: number) {
  const [row] = await store.sql<{ stock: number; price_cents: number; version: number; deleted_at: unknown }>(
    'select stock, price_cents, version, deleted_at from catalog_books where id = ?',
    [bookId],
  );
  return { stock: Number(row!.stock), priceCents: Number(row!.price_cents), version: Number(row!.version), deleted: row!.deleted_at !== null };
}

const CARD_OK = { method: 'card', cardNumber: '4242424242424242', expMonth: 12, expYear: new Date().getUTCFullYear() + 3, cvc: '739' };
const SHIPPING = { name: 'Bea Buyer', line1: 'Calle 10 # 4-21', city: 'Bogotá', postalCode: '110111', country: 'CO' };

/** The first delivery provider the store offers. */
export async function anyProvider(store: BackendStore): Promise<string> {
  const response = await store.request('GET', '/api/purchase/delivery-providers');
  expect(response.status).toBe(200);
  return response.body.items[0].id as string;
}

/** Places an order for `quantity` copies; answers the response as it came (201 or a problem). */
export function order(store: BackendStore, token: string, provider: string, bookId: number, quantity = 1) {
  const body = { items: [{ bookId, quantity }], deliveryProviderId: provider, shippingAddress: SHIPPING, payment: CARD_OK };
  return store.request('POST', '/api/purchase/orders', { token, body });
}
