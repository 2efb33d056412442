/**
 * Hostile text through the real app on both backends: control characters (a NUL byte above all)
 * and text that is not well-formed Unicode are refused with a 400 naming the field, and what the
 * store accepts it answers back exactly as it stored it.
 */
import { describe, expect, it } from 'vitest';
import { describeOnEachBackend, expectProblem, signUp, uniqueEmail, type ApiRequest, type ApiResponse, type BackendStore } from './harness.js';

const PASSWORD = 'correct horse battery';
const CONTROLS = { NUL: '\u0000', BEL: '\u0007', ESC: '\u001b' };
const BOOK = { title: 'Plain Title', author: 'Plain Author', priceCents: 1500, stock: 3 };
const SHIPPING = { name: 'Bea Buyer', line1: 'Calle 10 # 4-21', city: 'Bogotá', postalCode: '110111', country: 'CO' };
const ORDER = { items: [{ bookId: 1, quantity: 1 }], deliveryProviderId: 'envia', shippingAddress: SHIPPING, payment: { method: 'bank_transfer' } };

/** A different client address per request, so that no rate limit of the store's is what answers. */
const someAddress = () => `10.9.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;

function expectFieldError(response: ApiResponse, path: string, message: RegExp) {
  expectProblem(response, 400, 'validation_failed');
  expect(response.body.errors, JSON.stringify(response.body)).toContainEqual({ path, message: expect.stringMatching(message) });
}

type Send = (request: ApiRequest, token: string, bookId: number, text: string) => Promise<ApiResponse>;

/** Every free-text field of every module's request bodies: where the text goes, and the path its error names. */
const BODY_FIELDS: [string, Send][] = [
  ['name', (request, _t, _b, text) => request('POST', '/api/auth/register', { body: { name: `A${text}B`, email: uniqueEmail(), password: PASSWORD }, headers: { 'x-forwarded-for': someAddress() } })],
  ['email', (request, _t, _b, text) => request('POST', '/api/auth/register', { body: { name: 'Ann', email: `ann${text}x@example.test`, password: PASSWORD }, headers: { 'x-forwarded-for': someAddress() } })],
  ['email', (request, _t, _b, text) => request('POST', '/api/auth/login', { body: { email: `ann${text}x@example.test`, password: PASSWORD }, headers: { 'x-forwarded-for': someAddress() } })],
  ...(['title', 'author', 'description'] as const).flatMap((field): [string, Send][] => [
    [field, (request, token, _b, text) => request('POST', '/api/catalog/books', { token, body: { ...BOOK, [field]: `A${text}B` } })],
    [field, (request, token, bookId, text) => request('PATCH', `/api/catalog/books/${bookId}`, { token, body: { [field]: `A${text}B` } })],
  ]),
  ['isbn', (request, token, _b, text) => request('POST', '/api/catalog/books', { token, body: { ...BOOK, isbn: `978030640615${text}7` } })],
  ...(['name', 'line1', 'line2', 'city', 'postalCode', 'country'] as const).map((part): [string, Send] => [
    `shippingAddress.${part}`,
    (request, token, _b, text) => request('POST', '/api/purchase/orders', { token, body: { ...ORDER, shippingAddress: { ...SHIPPING, [part]: `CO${text}X` } } }),
  ]),
  ['deliveryProviderId', (request, token, _b, text) => request('POST', '/api/purchase/orders', { token, body: { ...ORDER, deliveryProviderId: `envia${text}` } })],
  ['payment.email', (request, token, _b, text) => request('POST', '/api/purchase/orders', { token, body: { ...ORDER, payment: { method: 'paypal', email: `pay${text}x@example.test` } } })],
];

/** A seller with one book of their own, made once per backend. */
function sellerWithBook(store: () => BackendStore) {
  let made: Promise<{ token: string; bookId: number }> | undefined;
  return () =>
    (made ??= (async () => {
      const { token } = await signUp(store().request, 'Hostile Seller');
      const created = await store().request('POST', '/api/catalog/books', { token, body: BOOK });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      return { token, bookId: created.body.book.id as number };
    })());
}

describeOnEachBackend('hostile text', (store) => {
  const seller = sellerWithBook(store);

  it('binds a NUL byte as a value: the statement keeps it, on either backend', async () => {
    const [row] = await store().sql<{ text: string; bytes: string }>('select ? as text, hex(?) as bytes', ['a\u0000b', 'a\u0000b']);
    expect(row!.text).toBe('a\u0000b');
    expect(row!.bytes).toBe('610062');
  });

  describe.each(Object.entries(CONTROLS))('a control character (%s)', (_name, control) => {
    it.each(BODY_FIELDS)('in %s is refused with 400 naming the field', async (path, send) => {
      const { token, bookId } = await seller();
      expectFieldError(await send(store().request, token, bookId, control), path, /must not contain control characters/);
    });

    it.each(['q', 'author'])('in the catalog query %s is refused with 400 naming it, signed in or not', async (name) => {
      const response = await store().request('GET', `/api/catalog/books?${name}=a${encodeURIComponent(control)}b`);
      expectFieldError(response, name, /must not contain control characters/);
    });
  });

  it('line breaks and tabs: refused in single-line text, kept exactly in a description (only a lone \\r is refused there)', async () => {
    const { token, bookId } = await seller();
    const { request } = store();
    for (const text of ['\n', '\r\n', '\t']) {
      expectFieldError(await request('POST', '/api/catalog/books', { token, body: { ...BOOK, title: `A${text}B` } }), 'title', /control characters/);
    }
    expectFieldError(await request('GET', '/api/catalog/books?author=a%0Ab'), 'author', /control characters/);
    expectFieldError(await request('PATCH', `/api/catalog/books/${bookId}`, { token, body: { description: 'one\rtwo' } }), 'description', /other than tabs and line breaks/);

    const description = 'Line one\nLine two\r\n\tIndented, with a tab\r\n\r\nLast paragraph.';
    const created = await request('POST', '/api/catalog/books', { token, body: { ...BOOK, description } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.book.description).toBe(description);
    expect((await request('GET', `/api/catalog/books/${created.body.book.id}`)).body.book.description).toBe(description);
  });

  describe('text that is not well-formed Unicode', () => {
    /** JSON text with the escape itself in it (`"\\ud800"`), so the store receives a lone surrogate whatever the client's JSON writer does. */
    const jsonWithEscape = (body: Record<string, unknown>, escape: string) => JSON.stringify(body).replace('@@', escape);
    const json = { 'content-type': 'application/json' };

    it.each(['\\ud800', '\\udfff', '\\ud83d'])('%s in a register name is refused with 400 naming it', async (escape) => {
      const rawBody = jsonWithEscape({ name: 'Ann @@ Lee', email: uniqueEmail(), password: PASSWORD }, escape);
      const response = await store().request('POST', '/api/auth/register', { rawBody, headers: { ...json, 'x-forwarded-for': someAddress() } });
      expectFieldError(response, 'name', /must be well-formed Unicode text/);
    });

    it.each(['title', 'author', 'description'] as const)('in a book %s is refused on create and on change, and nothing changes', async (field) => {
      const { token, bookId } = await seller();
      const { request } = store();
      const create = jsonWithEscape({ ...BOOK, [field]: 'Moby @@ Dick' }, '\\ud800');
      expectFieldError(await request('POST', '/api/catalog/books', { token, rawBody: create, headers: json }), field, /must be well-formed Unicode text/);
      const change = jsonWithEscape({ [field]: 'Moby @@ Dick' }, '\\udfff');
      expectFieldError(await request('PATCH', `/api/catalog/books/${bookId}`, { token, rawBody: change, headers: json }), field, /must be well-formed Unicode text/);
      const read = await request('GET', `/api/catalog/books/${bookId}`);
      expect(read.body.book[field]).toBe({ ...BOOK, description: '' }[field]);
    });

    it('keeps a character beyond the BMP (a surrogate pair) exactly, and refuses half of one: the 201 answers what GET reads and the database holds', async () => {
      const { token } = await seller();
      const { request } = store();
      const half = jsonWithEscape({ ...BOOK, title: '@@ half an emoji' }, '\\ud83d');
      expectFieldError(await request('POST', '/api/catalog/books', { token, rawBody: half, headers: json }), 'title', /must be well-formed Unicode text/);
      const book = { ...BOOK, title: '𝔘ber Bücher 📚', author: 'Zoë 𝔘nicode', description: 'Emoji 😀 and a pair \ud83d\ude00.\nAstral 𝄞.' };
      const created = await request('POST', '/api/catalog/books', { token, body: book });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body.book).toMatchObject({ title: book.title, author: book.author, description: book.description });
      const read = await request('GET', `/api/catalog/books/${created.body.book.id}`);
      expect(read.body.book).toMatchObject({ title: book.title, author: book.author, description: book.description });
      const [row] = await store().sql<{ title: string }>('select title from catalog_books where id = ?', [created.body.book.id]);
      expect(row!.title).toBe(book.title);

      const name = '𝔘rsula 😀';
      const email = uniqueEmail('astral');
      const registered = await request('POST', '/api/auth/register', { body: { name, email, password: PASSWORD }, headers: { 'x-forwarded-for': someAddress() } });
      expect(registered.status, JSON.stringify(registered.body)).toBe(201);
      expect(registered.body.user.name).toBe(name);
      const login = await request('POST', '/api/auth/login', { body: { email, password: PASSWORD }, headers: { 'x-forwarded-for': someAddress() } });
      expect((await request('GET', '/api/auth/me', { token: login.body.token })).body.user.name).toBe(name);
    });
  });

  it('Idempotency-Key: a control character inside it is 400 naming the header (NUL, CR and LF cannot be sent at all)', async () => {
    const { token } = await signUp(store().request, 'Keyed Buyer');
    const response = await store().request('POST', '/api/purchase/orders', { token, body: ORDER, headers: { 'idempotency-key': 'key\twith-tab' } });
    expectFieldError(response, 'Idempotency-Key', /visible ASCII/);
    await expect(store().request('POST', '/api/purchase/orders', { token, body: ORDER, headers: { 'idempotency-key': 'key\u0000' } })).rejects.toThrow();
  });
});
