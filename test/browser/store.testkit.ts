/**
 * The store the browser tests drive: every module in one process (BOOKSTORE_MODULES unset means
 * `all`, the storefront included) on a MariaDB database and Redis key prefix of its own, the demo
 * catalog, short simulated payment and delivery, the configured administrator, and a seller with a
 * few books of known titles. Used by the tests and by screenshots.ts. Not a test file.
 */
import { signUp, startIsolatedStore, type ApiRequest, type IsolatedStore } from '../harness.js';

export type User = Awaited<ReturnType<typeof signUp>>;

export const ADMIN = { email: 'browser.admin@example.test', password: 'admin password 123' };

/** Delays long enough to watch each step on the order page, short enough for a test. */
export const BROWSER_STORE_ENV: Record<string, string> = {
  PAYMENT_DELAY_MS: '400',
  DELIVERY_SHIP_DELAY_MS: '500',
  DELIVERY_TRANSIT_DELAY_MS: '500',
  BOOKSTORE_ADMIN_EMAIL: ADMIN.email,
  BOOKSTORE_ADMIN_PASSWORD: ADMIN.password,
  BOOKSTORE_SEED: 'demo',
};

export interface Book {
  id: number;
  title: string;
  author: string;
  priceCents: number;
  stock: number;
}

/** Titles no demo book shares, so that a search finds exactly these. */
const SEED_BOOKS = [
  { title: 'The Lighthouse Cartographer', author: 'Marisol Vega', priceCents: 1250, stock: 3, isbn: '9780000000019' },
  { title: 'Saltwater Orchards', author: 'Marisol Vega', priceCents: 899, stock: 5 },
  { title: 'A Grammar of Quiet Rooms', author: 'Tomas Lindqvist', priceCents: 1575, stock: 2 },
  { title: 'The Unmapped Cartographer Returns', author: 'Marisol Vega', priceCents: 2000, stock: 0 },
];
const DESCRIPTION = 'Used – very good: clean pages, a tight binding, light shelf wear on the cover.';

export interface BrowserStore extends IsolatedStore {
  /** The store's origin, e.g. http://127.0.0.1:41234. */
  url: string;
  seller: User;
  /** The seller's books, in the order of SEED_BOOKS: [0] has 3 in stock, [3] is out of stock. */
  books: Book[];
}

let addressCounter = 0;
/** A client address of its own for each API sign-up (the registrations-per-address limit). */
export const nextAddress = () => `10.77.${Math.floor(++addressCounter / 250)}.${(addressCounter % 250) + 1}`;

export async function startBrowserStore(env: Record<string, string> = {}): Promise<BrowserStore> {
  const stack = await startIsolatedStore({ ...BROWSER_STORE_ENV, ...env });
  try {
    const seller = await signUp(stack.request, 'Sofia Seller', nextAddress());
    const books: Book[] = [];
    for (const book of SEED_BOOKS) books.push(await createBook(stack.request, seller.token, { description: DESCRIPTION, ...book }));
    return { ...stack, close: () => stack.close(), url: stack.store.url, seller, books };
  } catch (error) {
    await stack.close();
    throw error;
  }
}

export async function createBook(request: ApiRequest, token: string, body: Omit<Book, 'id'> & { description?: string; isbn?: string }): Promise<Book> {
  const response = await request('POST', '/api/catalog/books', { token, body });
  if (response.status !== 201) throw new Error(`creating a book failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.book as Book;
}

/** A customer registered through the API, for tests whose subject is not registration. */
export const newCustomer = (store: BrowserStore, name: string) => signUp(store.request, name, nextAddress());

const VALID_YEAR = new Date().getUTCFullYear() + 3;
export const SHIPPING = { name: 'Bea Buyer', line1: 'Calle 10 # 4-21', city: 'Bogotá', postalCode: '110111', country: 'CO' };

/** An order placed through the API with a good card; answers its id. */
export async function orderThroughApi(store: BrowserStore, token: string, bookId: number, quantity = 1): Promise<string> {
  const payment = { method: 'card', cardNumber: '4242424242424242', expMonth: 12, expYear: VALID_YEAR, cvc: '739' };
  const body = { items: [{ bookId, quantity }], deliveryProviderId: 'servientrega', shippingAddress: SHIPPING, payment };
  const response = await store.request('POST', '/api/purchase/orders', { token, body });
  if (response.status !== 201) throw new Error(`placing an order failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.order.id as string;
}

/** Waits until the order is in `status` (the API's name, e.g. delivered). */
export async function waitForOrder(store: BrowserStore, token: string, orderId: string, status: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await store.request('GET', `/api/purchase/orders/${orderId}`, { token });
    if (response.body?.order?.status === status) return;
    if (Date.now() > deadline) throw new Error(`order ${orderId} is not ${status} after ${timeoutMs} ms: ${JSON.stringify(response.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
