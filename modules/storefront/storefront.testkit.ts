import { expect } from 'vitest';
import { signUp, type ApiRequest } from '../../test/harness.js';
import { nextAddress } from '../purchase/purchase.testkit.js';

/** What the storefront answered: the page's HTML, or where it sends the browser. */
export interface Page {
  status: number;
  headers: Headers;
  html: string;
  location: string | null;
}

/**
 * A browser without JavaScript: keeps the cookies the store sets, sends the store's own Origin on
 * posts (as browsers do) and a client address of its own (TRUST_PROXY=true in tests), follows no
 * redirect by itself.
 */
export class Visitor {
  private readonly cookies = new Map<string, string>();
  readonly address = nextAddress();

  constructor(
    readonly baseUrl: string,
    private readonly language = 'en',
  ) {}

  get signedIn(): boolean {
    return Boolean(this.cookies.get('bookstore_session'));
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<Page> {
    return this.send(path, { method: 'GET', headers });
  }

  async post(path: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Page> {
    return this.send(path, { method: 'POST', body: new URLSearchParams(form), headers: { origin: this.baseUrl, ...headers } });
  }

  private async send(path: string, init: { method: string; body?: URLSearchParams; headers: Record<string, string> }): Promise<Page> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const headers = { 'accept-language': this.language, 'x-forwarded-for': this.address, ...(cookie ? { cookie } : {}), ...init.headers };
    const response = await fetch(`${this.baseUrl}${path}`, { ...init, headers, redirect: 'manual' });
    for (const set of response.headers.getSetCookie()) this.keep(set);
    return { status: response.status, headers: response.headers, html: await response.text(), location: response.headers.get('location') };
  }

  private keep(setCookie: string) {
    const [pair = ''] = setCookie.split(';');
    const [name = '', value = ''] = pair.split('=');
    if (/max-age=0|expires=thu, 01 jan 1970/i.test(setCookie) || value === '') this.cookies.delete(name.trim());
    else this.cookies.set(name.trim(), value.trim());
  }
}

/** The text of the page's one h1; fails when there is not exactly one. */
export function heading(page: Page): string {
  const headings = [...page.html.matchAll(/<h1[^>]*>(.*?)<\/h1>/g)];
  expect(headings, page.html.slice(0, 500)).toHaveLength(1);
  return headings[0]![1]!.replace(/<[^>]+>/g, '');
}

/** The value of a form input by name (hidden fields such as the checkout's key). */
export function inputValue(page: Page, name: string): string | undefined {
  return new RegExp(`name="${name}"[^>]*value="([^"]*)"`).exec(page.html)?.[1];
}

/** A registered visitor, signed in through the storefront's own form. */
export async function registeredVisitor(baseUrl: string, name = 'Vera Visitor'): Promise<Visitor> {
  const visitor = new Visitor(baseUrl);
  const email = `${name.split(' ')[0]!.toLowerCase()}.${Math.random().toString(36).slice(2, 10)}@example.test`;
  const page = await visitor.post('/register', { name, email, password: 'a long passphrase 42', back: '/' });
  expect(page.status, page.html.replace(/^[\s\S]*<main/, '').slice(0, 800)).toBe(303);
  expect(visitor.signedIn).toBe(true);
  return visitor;
}

/** A seller (through the API) with one book in stock; answers the book's id. */
export async function listedBook(request: ApiRequest, fields: Record<string, unknown> = {}): Promise<number> {
  const seller = await signUp(request, 'Sam Seller', nextAddress());
  const book = { title: 'The Storefront Test', author: 'Ada Author', priceCents: 1250, stock: 3, ...fields };
  const created = await request('POST', '/api/catalog/books', { token: seller.token, body: book });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.book.id as number;
}
