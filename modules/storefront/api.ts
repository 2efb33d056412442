import type { Context } from 'hono';
import type { PublicApi, PublicCall } from '../../kernel/public-api.js';

/*
 * The store's public API, as the pages use it: what docs/api.md documents, called for the visitor
 * (their cookie, Origin and address) through the kernel's PublicApi. The storefront reads nothing
 * else: no module's tables, no internal API.
 */

export interface User {
  id: number;
  name: string;
  email: string;
  role: 'customer' | 'admin';
  createdAt: string;
}

export interface Book {
  id: number;
  title: string;
  author: string;
  description: string | null;
  isbn: string | null;
  priceCents: number;
  currency: string;
  stock: number;
  sellerId: number;
  createdAt: string;
  updatedAt: string;
}

export interface DeliveryProvider {
  id: string;
  name: string;
  coverage: string;
  costCents: number;
}

export interface OrderEvent {
  status: string;
  at: string;
  detail?: string | null;
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
  shippingAddress: Record<string, string | undefined>;
  payment: { method: string; status: string; brand?: string; last4?: string };
  trackingNumber?: string | null;
  events: OrderEvent[];
  createdAt: string;
  updatedAt: string;
}

export interface Sale {
  orderId: string;
  orderStatus: string;
  bookId: number;
  title: string;
  unitPriceCents: number;
  quantity: number;
  currency: string;
  orderedAt: string;
}

export interface Page<T> {
  items: T[];
  page: number;
  limit: number;
  total: number;
}

/** An RFC 9457 problem document, as the API answers a refusal. */
export interface ProblemDocument {
  status: number;
  code: string;
  detail: string;
  errors?: { path: string; message: string }[];
  /** Seconds, from `Retry-After`. */
  retryAfter?: number;
}

export type Answer<T> = { ok: true; data: T; response: Response } | { ok: false; problem: ProblemDocument; response: Response };

const searchOf = (query: Record<string, string | number | boolean | undefined>) => {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(name, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
};

export interface BookQuery {
  q?: string;
  author?: string;
  minPriceCents?: number;
  maxPriceCents?: number;
  inStock?: boolean;
  sort?: string;
  page?: number;
  limit?: number;
}

export type BookFields = Partial<Pick<Book, 'title' | 'author' | 'description' | 'isbn' | 'priceCents' | 'stock'>>;

/** The calls one page makes for one visitor. */
export class StoreApi {
  constructor(
    private readonly publicApi: PublicApi,
    private readonly c: Context,
  ) {}

  me = () => this.call<{ user: User }>('/api/auth/me');
  register = (body: { name: string; email: string; password: string }) => this.call<{ user: User }>('/api/auth/register', { method: 'POST', json: body });
  login = (body: { email: string; password: string }) => this.call<{ token: string; user: User }>('/api/auth/login', { method: 'POST', json: body });
  logout = () => this.call<null>('/api/auth/logout', { method: 'POST' });
  users = (page: number) => this.call<Page<User>>(`/api/auth/users${searchOf({ page, limit: 50 })}`);

  books = (query: BookQuery) => this.call<Page<Book>>(`/api/catalog/books${searchOf({ ...query })}`);
  book = (id: string) => this.call<{ book: Book }>(`/api/catalog/books/${encodeURIComponent(id)}`);
  myBooks = () => this.call<Page<Book>>('/api/catalog/my-books?limit=100');
  addBook = (fields: BookFields) => this.call<{ book: Book }>('/api/catalog/books', { method: 'POST', json: fields });
  changeBook = (id: string, fields: BookFields, ifMatch: string | undefined) =>
    this.call<{ book: Book }>(`/api/catalog/books/${encodeURIComponent(id)}`, { method: 'PATCH', json: fields, headers: ifMatch ? { 'if-match': ifMatch } : {} });
  deleteBook = (id: string) => this.call<null>(`/api/catalog/books/${encodeURIComponent(id)}`, { method: 'DELETE' });

  deliveryProviders = () => this.call<{ items: DeliveryProvider[] }>('/api/purchase/delivery-providers');
  placeOrder = (body: unknown, idempotencyKey: string) => this.call<{ order: Order }>('/api/purchase/orders', { method: 'POST', json: body, headers: { 'idempotency-key': idempotencyKey } });
  orders = (page: number) => this.call<Page<Order>>(`/api/purchase/orders${searchOf({ page, limit: 20 })}`);
  order = (id: string) => this.call<{ order: Order }>(`/api/purchase/orders/${encodeURIComponent(id)}`);
  cancelOrder = (id: string) => this.call<{ order: Order }>(`/api/purchase/orders/${encodeURIComponent(id)}/cancel`, { method: 'POST' });
  sales = (page: number) => this.call<Page<Sale>>(`/api/purchase/sales${searchOf({ page, limit: 50 })}`);

  private async call<T>(path: string, call: PublicCall = {}): Promise<Answer<T>> {
    const response = await this.publicApi.call(this.c, path, call);
    const text = await response.text();
    if (response.ok) return { ok: true, data: (text ? JSON.parse(text) : null) as T, response };
    return { ok: false, problem: problemOf(response, text), response };
  }
}

function problemOf(response: Response, text: string): ProblemDocument {
  const retryAfter = Number(response.headers.get('retry-after')) || undefined;
  try {
    const body = JSON.parse(text) as Partial<ProblemDocument>;
    return { status: response.status, code: body.code ?? 'internal', detail: body.detail ?? '', errors: body.errors, retryAfter };
  } catch {
    return { status: response.status, code: response.status >= 500 ? 'service_unavailable' : 'internal', detail: '', retryAfter };
  }
}
