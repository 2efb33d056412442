/**
 * A seller's stock change racing with orders. The seller read the book (stock 3) and sends
 * `PATCH stock=2` with that reading's ETag while 20 buyers order one copy each. Either the PATCH
 * is written first (orders then share the 2 copies it set) or an order moved the version first and
 * the PATCH is refused (412: the 3 copies go to orders, and the seller reads again). Never both: no
 * copy is sold twice. Rounds shift the PATCH a little against the orders (negative: the orders
 * start later) so that both outcomes occur on both backends.
 */
import { beforeAll, expect, it } from 'vitest';
import { describeOnEachBackend } from '../../test/harness.js';
import { anyProvider, bookRow, listBook, newUser, order, type User } from './books.testkit.js';

const BUYERS = 20;
const PATCH_OFFSETS_MS = [-20, -5, 0, 10, 40, 100, 200];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Round {
  patchStatus: number;
  accepted: number;
  finalStock: number;
}

describeOnEachBackend('a seller’s stock change racing with orders', (store) => {
  let seller: User;
  let buyers: User[];
  let provider: string;

  beforeAll(async () => {
    seller = await newUser(store());
    buyers = [];
    for (let i = 0; i < BUYERS; i++) buyers.push(await newUser(store(), 'Bea Buyer'));
    provider = await anyProvider(store());
  }, 120_000);

  async function race(patchOffsetMs: number): Promise<Round> {
    const { book } = await listBook(store(), seller.token, { stock: 3 });
    const etag = (await store().request('GET', `/api/catalog/books/${book.id}`, { token: seller.token })).headers.get('etag')!;
    const ordersStart = sleep(Math.max(0, -patchOffsetMs));
    const orders = buyers.map((buyer) => ordersStart.then(() => order(store(), buyer.token, provider, book.id, 1)));
    const patched = sleep(Math.max(0, patchOffsetMs)).then(() =>
      store().request('PATCH', `/api/catalog/books/${book.id}`, { token: seller.token, body: { stock: 2 }, headers: { 'if-match': etag } }),
    );
    const [patch, ...answers] = await Promise.all([patched, ...orders]);
    for (const answer of answers) expect([201, 409], JSON.stringify(answer.body)).toContain(answer.status);
    const accepted = answers.filter((answer) => answer.status === 201).length;
    return { patchStatus: patch.status, accepted, finalStock: (await bookRow(store(), book.id)).stock };
  }

  /** Whichever wins, what was available (2 if the PATCH was written first, else 3) is what was sold plus what is left. */
  function consistent(round: Round): boolean {
    if (round.patchStatus === 200) return round.accepted <= 2 && round.finalStock === 2 - round.accepted;
    return round.patchStatus === 412 && round.accepted === 3 && round.finalStock === 0;
  }

  it('stock 3, 20 orders and PATCH stock=2 with the ETag read before: no copy is sold twice, whichever wins', async () => {
    const outcomes: Round[] = [];
    for (const offset of PATCH_OFFSETS_MS) outcomes.push(await race(offset));
    const seen = outcomes.map((r, i) => `${PATCH_OFFSETS_MS[i]} ms: PATCH ${r.patchStatus}, ${r.accepted} sold, ${r.finalStock} left`);
    console.info(`${store().backend}: ${seen.join('; ')}`);
    expect(seen.filter((_, i) => !consistent(outcomes[i]!))).toEqual([]);
  }, 60_000);
});
