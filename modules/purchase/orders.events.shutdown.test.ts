/**
 * A store that shuts down ends its order event streams as soon as it has drained, instead of
 * holding them until the shutdown deadline and then cutting them: the client gets a clean end and
 * resumes elsewhere with Last-Event-ID.
 */
import { expect, it } from 'vitest';
import { signUp, startStoreOn } from '../../test/harness.js';
import { nextStatus, placeOrder, statusesUntilEnd, stream } from './order-events.testkit.js';
import { createBook, nextAddress } from './orders.testkit.js';

it('shutdown ends open event streams right after the drain, well before the shutdown deadline', async () => {
  const store = await startStoreOn('sqlite', { PAYMENT_DELAY_MS: '60000', SHUTDOWN_TIMEOUT_MS: '10000', SHUTDOWN_DRAIN_MS: '300' });
  let closed: Promise<void> | undefined;
  try {
    const [seller, buyer] = await Promise.all(['Sal Seller', 'Bea Buyer'].map((name) => signUp(store.request, name, nextAddress())));
    const bookId = await createBook(store, seller!.token, 1000, 5);
    const reader = await stream(store, await placeOrder(store, buyer!.token, bookId), { token: buyer!.token });
    expect((await nextStatus(reader)).status).toBe('pending_payment');
    const started = Date.now();
    closed = store.close();
    expect(await statusesUntilEnd(reader, 5000)).toEqual([]);
    const endedAfterMs = Date.now() - started;
    expect(endedAfterMs).toBeGreaterThanOrEqual(250);
    expect(endedAfterMs).toBeLessThan(3000);
  } finally {
    await (closed ?? store.close());
  }
});
