/**
 * Helpers for the catalog's tests: sellers, buyers, books and orders through the real API. The
 * first part serves the per-backend files (describeOnEachBackend); the second, from
 * startCatalogStack on, the files that run on MariaDB and Redis with one store per file
 * (useCatalogStack). Not a test file itself.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { signUp, startIsolatedStore, type ApiRequest, type BackendStore, type IsolatedStore } from '../../test/harness.js';
import { late, lateUser, useIsolatedStore } from '../../test/isolated.testkit.js';

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

/** What the harness client answers (bodies read loosely, as the harness intends). */
export type Reply = Awaited<ReturnType<ApiRequest>>;

export interface Book {
  id: number;
  title: string;
  author: string;
  description: string;
  isbn: string | null;
  priceCents: number;
  currency: string;
  stock: number;
  sellerId: number;
  createdAt: string;
  updatedAt: string;
}

export const BOOK_FIELDS = ['author', 'createdAt', 'currency', 'description', 'id', 'isbn', 'priceCents', 'sellerId', 'stock', 'title', 'updatedAt'];
export const UNKNOWN_ID = '2000000000';

/**
 * A made-up search word, unique to this run: letters and digits only, so it is one search word.
 * A file's tests share one database, so every test tags the books it creates with words of its own
 * and narrows its queries with them, which keeps every expectation exact.
 */
export function word(prefix = 'zq'): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

export function errorPaths(response: Reply): string[] {
  expect(Array.isArray(response.body.errors)).toBe(true);
  return (response.body.errors as { path: string; message: string }[]).map((error) => error.path);
}

export function ids(response: Reply): number[] {
  return (response.body.items as Book[]).map((book) => book.id);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface CatalogStack extends IsolatedStore {
  seller: User;
  other: User;
}

/** The real store on a MariaDB database and Redis prefix of its own, with two sellers signed up. */
async function startCatalogStack(): Promise<CatalogStack> {
  const stack = await startIsolatedStore();
  try {
    const seller = await signUp(stack.request, 'Sally Seller', nextAddress());
    const other = await signUp(stack.request, 'Otto Other', nextAddress());
    return { ...stack, seller, other };
  } catch (error) {
    await stack.close();
    throw error;
  }
}

/** Helpers bound to one running store. */
function catalogHelpers(request: ApiRequest, getUrl: () => string) {
  async function createBook(token: string, fields: Partial<Omit<Book, 'id'>> = {}): Promise<Book> {
    const body = { title: `Untitled ${word()}`, author: 'Anonymous Writer', priceCents: 1000, stock: 1, ...fields };
    const response = await request('POST', '/api/catalog/books', { token, body });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body.book as Book;
  }

  async function search(query: string): Promise<Reply> {
    const response = await request('GET', `/api/catalog/books?${query}`);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    return response;
  }

  /** A raw anonymous GET, to see exactly what a 304 carries. */
  async function rawGet(path: string, headers: Record<string, string> = {}) {
    const response = await fetch(`${getUrl()}${path}`, { headers });
    return { status: response.status, headers: response.headers, text: await response.text() };
  }

  return { createBook, search, rawGet };
}

/**
 * A catalog stack for the calling describe block: started in beforeAll, closed in afterAll.
 * `request`, `seller`, `other` and the helpers may be taken apart in the describe body (they read
 * the store when used); `store` and `db` are read from the answer inside tests and hooks
 * (`stack.store.url`), since they exist only once beforeAll has run.
 */
export function useCatalogStack() {
  const { started, request } = useIsolatedStore(startCatalogStack);
  return Object.assign(late(started, ['store', 'db']), {
    request,
    seller: lateUser(() => started().seller),
    other: lateUser(() => started().other),
    ...catalogHelpers(request, () => started().store.url),
  });
}
