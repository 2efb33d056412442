/**
 * Every book answer carries its ETag, the book's version; PATCH and DELETE honour If-Match with it
 * (RFC 9110 §13.1.1), judged and written in one step, so a seller never overwrites what orders did
 * after the seller's last reading.
 */
import { beforeAll, expect, it } from 'vitest';
import { describeOnEachBackend, expectProblem } from '../../test/harness.js';
import { anyProvider, bookRow, listBook, newUser, order, type User } from './books.testkit.js';

const STRONG_ETAG = /^"v\d+"$/;

describeOnEachBackend('book ETags and If-Match', (store) => {
  let seller: User;
  let buyer: User;
  let provider: string;

  beforeAll(async () => {
    seller = await newUser(store());
    buyer = await newUser(store(), 'Bea Buyer');
    provider = await anyProvider(store());
  });

  const path = (id: number) => `/api/catalog/books/${id}`;
  const read = (id: number, token?: string, headers: Record<string, string> = {}) => store().request('GET', path(id), { headers, ...(token ? { token } : {}) });
  const patch = (id: number, body: unknown, ifMatch?: string) =>
    store().request('PATCH', path(id), { token: seller.token, body, headers: ifMatch === undefined ? {} : { 'if-match': ifMatch } });
  const remove = (id: number, ifMatch?: string) =>
    store().request('DELETE', path(id), { token: seller.token, headers: ifMatch === undefined ? {} : { 'if-match': ifMatch } });

  it('POST 201, GET (anonymous and signed in) and PATCH 200 carry the same strong ETag for the same version', async () => {
    const { book, etag: created } = await listBook(store(), seller.token);
    expect(created).toMatch(STRONG_ETAG);
    const anonymous = await read(book.id);
    expect(anonymous.headers.get('etag')).toBe(created);
    for (const token of [seller.token, buyer.token]) {
      const signedIn = await read(book.id, token);
      expect(signedIn.status).toBe(200);
      expect(signedIn.headers.get('etag')).toBe(created);
      expect(signedIn.headers.get('cache-control')).toContain('no-store');
    }

    const changed = await patch(book.id, { priceCents: 1234 });
    expect(changed.status).toBe(200);
    const next = changed.headers.get('etag');
    expect(next).toMatch(STRONG_ETAG);
    expect(next).not.toBe(created);
    const reread = await read(book.id);
    expect(reread.headers.get('etag')).toBe(next);
    expect(reread.body).toEqual(changed.body);
  });

  it('anonymous If-None-Match still answers 304, by weak comparison', async () => {
    const { book, etag } = await listBook(store(), seller.token);
    await read(book.id); // fills the read cache
    for (const tag of [etag!, `W/${etag}`, `"other", ${etag}`]) {
      const notModified = await read(book.id, undefined, { 'if-none-match': tag });
      expect(notModified.status).toBe(304);
      expect(notModified.headers.get('etag')).toBe(etag);
    }
  });

  it('a matching If-Match changes the book and answers its new ETag', async () => {
    const { book, etag } = await listBook(store(), seller.token);
    const changed = await patch(book.id, { stock: 7 }, etag!);
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body.book.stock).toBe(7);
    expect(changed.headers.get('etag')).toMatch(STRONG_ETAG);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect((await patch(book.id, { stock: 6 }, changed.headers.get('etag')!)).status).toBe(200);
  });

  it('a stale If-Match is 412 precondition_failed and changes nothing', async () => {
    const { book, etag } = await listBook(store(), seller.token);
    expect((await patch(book.id, { priceCents: 2000 }, etag!)).status).toBe(200);
    const before = await bookRow(store(), book.id);
    expectProblem(await patch(book.id, { stock: 0 }, etag!), 412, 'precondition_failed');
    expect(await bookRow(store(), book.id)).toEqual(before);
    expect((await read(book.id)).body.book).toMatchObject({ stock: 3, priceCents: 2000 });
  });

  it('* matches any current book; a list matches if one of its tags does; a weak tag never does', async () => {
    const { book, etag } = await listBook(store(), seller.token);
    const any = await patch(book.id, { stock: 5 }, '*');
    expect(any.status).toBe(200);
    const current = any.headers.get('etag')!;
    expectProblem(await patch(book.id, { stock: 4 }, `W/${current}`), 412, 'precondition_failed');
    const listed = await patch(book.id, { stock: 4 }, `${etag}, "x", ${current}`);
    expect(listed.status, JSON.stringify(listed.body)).toBe(200);
    expect((await bookRow(store(), book.id)).stock).toBe(4);
  });

  it('a malformed If-Match is 400 and changes nothing', async () => {
    const { book } = await listBook(store(), seller.token);
    for (const header of ['v1', '"v1', '*, "v1"', 'W/v1']) {
      expectProblem(await patch(book.id, { stock: 9 }, header), 400, 'validation_failed');
      expectProblem(await remove(book.id, header), 400, 'validation_failed');
    }
    expect(await bookRow(store(), book.id)).toMatchObject({ stock: 3, version: 1, deleted: false });
  });

  it('an order between the seller’s GET and PATCH makes the ETag stale', async () => {
    const { book } = await listBook(store(), seller.token, { stock: 3 });
    const seen = (await read(book.id, seller.token)).headers.get('etag')!;
    const placed = await order(store(), buyer.token, provider, book.id, 1);
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    expectProblem(await patch(book.id, { stock: 2 }, seen), 412, 'precondition_failed');
    expect((await bookRow(store(), book.id)).stock).toBe(2);

    const fresh = await read(book.id, seller.token);
    expect(fresh.body.book.stock).toBe(2);
    expect(fresh.headers.get('etag')).not.toBe(seen);
    expect((await patch(book.id, { stock: 5 }, fresh.headers.get('etag')!)).status).toBe(200);
  });

  it('DELETE with a stale If-Match is 412 and the book stays; with the current one it goes', async () => {
    const { book, etag } = await listBook(store(), seller.token);
    const changed = await patch(book.id, { priceCents: 999 });
    expectProblem(await remove(book.id, etag!), 412, 'precondition_failed');
    expect((await read(book.id)).status).toBe(200);
    expect((await bookRow(store(), book.id)).deleted).toBe(false);

    expect((await remove(book.id, changed.headers.get('etag')!)).status).toBe(204);
    expect((await read(book.id)).status).toBe(404);
  });

  it('without If-Match a change still applies, on top of what orders took', async () => {
    const { book } = await listBook(store(), seller.token, { stock: 3 });
    expect((await order(store(), buyer.token, provider, book.id, 1)).status).toBe(201);
    const changed = await patch(book.id, { priceCents: 1100 });
    expect(changed.status).toBe(200);
    expect(changed.body.book).toMatchObject({ stock: 2, priceCents: 1100 });
    expect(changed.headers.get('etag')).toBe((await read(book.id)).headers.get('etag'));
  });
});
