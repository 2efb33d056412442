/**
 * PATCH /books/{id} needs a body: a JSON object naming at least one known field. Anything else is a
 * 400 that changes nothing, rather than a 200 for an empty patch.
 */
import { beforeAll, expect, it } from 'vitest';
import { describeOnEachBackend, expectProblem } from '../../test/harness.js';
import { bookRow, listBook, newUser, type User } from './books.testkit.js';

describeOnEachBackend('PATCH /books/{id} body rules', (store) => {
  let seller: User;
  let bookId: number;

  beforeAll(async () => {
    seller = await newUser(store());
    ({ book: { id: bookId } } = await listBook(store(), seller.token, { priceCents: 1500 }));
  });

  const patch = (options: { rawBody?: string; headers?: Record<string, string> }) =>
    store().request('PATCH', `/api/catalog/books/${bookId}`, { token: seller.token, ...options });
  const json = { 'content-type': 'application/json' };

  async function expectUnchanged() {
    const row = await bookRow(store(), bookId);
    expect(row).toMatchObject({ priceCents: 1500, stock: 3, version: 1 });
  }

  it('anything but a JSON object naming a known field is 400 validation_failed and changes nothing', async () => {
    const bodies = ['[]', '{}', 'null', '"x"', '7', '[{"priceCents": 900}]', '{"unknown": 1}', '{"priceCents": 900, "sellerId": 1}'];
    for (const rawBody of bodies) {
      const response = await patch({ rawBody, headers: json });
      expect(response.status, `${rawBody} → ${JSON.stringify(response.body)}`).toBe(400);
      expectProblem(response, 400, 'validation_failed');
      expect(response.body.errors.length).toBeGreaterThan(0);
    }
    await expectUnchanged();
  });

  it('says why an empty patch is refused', async () => {
    for (const rawBody of ['{}', '[]']) {
      const response = await patch({ rawBody, headers: json });
      expect(response.body.errors).toEqual([{ path: '(body)', message: expect.stringMatching(/at least one field.*priceCents/) }]);
    }
    const notAnObject = await patch({ rawBody: 'null', headers: json });
    expect(notAnObject.body.errors).toEqual([{ path: '(body)', message: expect.stringMatching(/must be a JSON object/) }]);
  });

  it('no body at all is 400 malformed_json, with or without a Content-Type', async () => {
    expectProblem(await patch({}), 400, 'malformed_json');
    expectProblem(await patch({ headers: json }), 400, 'malformed_json');
    expectProblem(await patch({ rawBody: '', headers: json }), 400, 'malformed_json');
    await expectUnchanged();
  });

  it('an object with one known field is a change, and moves the version', async () => {
    const response = await patch({ rawBody: '{"priceCents": 1600}', headers: json });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body.book.priceCents).toBe(1600);
    expect(await bookRow(store(), bookId)).toMatchObject({ priceCents: 1600, version: 2 });
  });
});
