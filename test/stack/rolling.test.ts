/**
 * Issue 10: a rolling update loses nothing. stack.yml's services on loopback behind NGINX (see
 * loopback.ts); every replica of auth, catalog and purchase is replaced the way a start-first
 * `docker service update --force` does it, all three services at once, while a bounded load of mixed
 * traffic goes through NGINX over HTTPS: anonymous and signed-in reads (which make the services
 * call auth) and orders with an Idempotency-Key (purchase calls auth and catalog).
 *
 * What loopback cannot show: Swarm's DNS. Replicas are ports of 127.0.0.1, so nginx's `resolver …
 * valid=` and a vanished container address (which times out instead of refusing) are not exercised.
 * The loopback keeps a leaving replica in nginx's upstreams for as long as the resolver may cache it
 * and takes it out of the internal callers' name at once, as Swarm's DNS does; test/swarm runs the
 * same update on a real swarm.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, servicesAvailable, testRedis, uniqueEmail, type TestDatabase, type TestRedis } from '../harness.js';
import { httpsClient, type HttpsClient, type Reply } from './https.js';
import { LoopbackStack, nginxAvailable, ROOT } from './loopback.js';
import { replicasOf } from './stack-file.js';

const FILE = 'test/stack/rolling.test.ts';
const ready = nginxAvailable(FILE) && (await servicesAvailable(FILE, ['mysql', 'redis']));

const API = ['auth', 'catalog', 'purchase'];
const PASSWORD = 'correct horse battery';
const CARD = { method: 'card', cardNumber: '4242424242424242', expMonth: 12, expYear: 2040, cvc: '123' };
const ADDRESS = { name: 'Ada Buyer', line1: '1 Rolling Road', city: 'Localhost', country: 'CO' };
const DELAYS = { PAYMENT_DELAY_MS: '200', DELIVERY_SHIP_DELAY_MS: '300', DELIVERY_TRANSIT_DELAY_MS: '200' };
/** Requests in flight at once; each opens its own connection (see httpsClient). */
const CONCURRENCY = 6;
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

interface Outcome {
  kind: string;
  status?: number;
  error?: string;
}

describe.runIf(ready)('a rolling update on loopback: every API replica replaced start-first under load through NGINX', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let certs: string;
  let stack: LoopbackStack;
  let api: HttpsClient;
  let load: HttpsClient;

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = testRedis();
    certs = mkdtempSync(join(tmpdir(), 'bookstore-certs-'));
    execFileSync('sh', [join(ROOT, 'docker/certs/make-local-ca.sh'), certs], { stdio: 'pipe' });
    const ca = readFileSync(join(certs, 'ca.crt'), 'utf8');
    stack = new LoopbackStack({
      databaseUrl: db.url,
      redis: { url: redis.url, prefix: redis.prefix },
      tls: { cert: join(certs, 'server.crt'), key: join(certs, 'server.key') },
      extraEnv: DELAYS,
    });
    await stack.start();
    api = httpsClient(stack.httpsPort, ca);
    load = httpsClient(stack.httpsPort, ca, { keepAlive: false, timeoutMs: 10_000 });
  }, 120_000);

  afterAll(async () => {
    api?.close();
    load?.close();
    await stack?.stop();
    await db?.drop();
    await redis?.drop();
    if (certs) rmSync(certs, { recursive: true, force: true });
  }, 60_000);

  async function signIn(name: string): Promise<string> {
    const email = uniqueEmail(name.toLowerCase());
    expect((await api('POST', '/api/auth/register', { body: { name, email, password: PASSWORD } })).status).toBe(201);
    const login = await api('POST', '/api/auth/login', { body: { email, password: PASSWORD } });
    expect(login.status, login.text).toBe(200);
    return login.body.token as string;
  }

  /** Mixed traffic until `running()` says stop; every answer and every error is kept. */
  function mixedLoad(tokens: { buyer: string; seller: string }, bookId: unknown, running: () => boolean) {
    const outcomes: Outcome[] = [];
    const orders: string[] = [];
    let next = 0;
    const requests: [string, number, () => Promise<Reply>][] = [
      ['GET /api/catalog/books', 200, () => load('GET', '/api/catalog/books?limit=5&sort=newest')],
      ['GET /api/auth/me', 200, () => load('GET', '/api/auth/me', { token: tokens.buyer })],
      ['GET /api/catalog/my-books', 200, () => load('GET', '/api/catalog/my-books', { token: tokens.seller })],
      ['GET /api/purchase/orders', 200, () => load('GET', '/api/purchase/orders?limit=5', { token: tokens.buyer })],
      [
        'POST /api/purchase/orders',
        201,
        () =>
          load('POST', '/api/purchase/orders', {
            token: tokens.buyer,
            headers: { 'idempotency-key': `rolling-${Date.now()}-${next}` },
            body: { items: [{ bookId, quantity: 1 }], deliveryProviderId: 'dhl', shippingAddress: ADDRESS, payment: CARD },
          }),
      ],
    ];
    const worker = async () => {
      while (running()) {
        const [kind, expected, send] = requests[next++ % requests.length]!;
        const outcome = await send().then(
          (reply): Outcome => {
            if (reply.status === 201 && reply.body?.order?.id) orders.push(reply.body.order.id);
            return reply.status === expected ? { kind, status: reply.status } : { kind, status: reply.status, error: reply.text.slice(0, 200) };
          },
          (error: Error): Outcome => ({ kind, error: error.message }),
        );
        outcomes.push(outcome);
      }
    };
    const done = Promise.all(Array.from({ length: CONCURRENCY }, worker));
    return { outcomes, orders, done };
  }

  async function waitForOrder(token: string, id: string, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    let last: { status?: string } | undefined;
    while (Date.now() < deadline) {
      last = (await api('GET', `/api/purchase/orders/${id}`, { token })).body?.order;
      if (last?.status === 'delivered') return last;
      await sleep(200);
    }
    throw new Error(`order ${id} did not reach delivered (last: ${JSON.stringify(last)})`);
  }

  it('0 failed requests (no 5xx, no resets, no timeouts) and every order placed is delivered', async () => {
    const seller = await signIn('Rollseller');
    const buyer = await signIn('Rollbuyer');
    const book = await api('POST', '/api/catalog/books', { token: seller, body: { title: 'Rolling Stock', author: 'U. Pdate', priceCents: 500, stock: 5000 } });
    expect(book.status, book.text).toBe(201);
    const staleMs = Number(/resolver \S+ valid=(\d+)s/.exec(stack.renderedConfig())?.[1]) * 1000;
    expect(staleMs).toBeGreaterThan(0);

    let running = true;
    const traffic = mixedLoad({ buyer, seller }, book.body.book.id, () => running);
    await sleep(1000);
    const started = Date.now();
    // As `docker stack deploy` with a new image: the services update at once (one task each here,
    // the oldest; the second step of a real update repeats the first, and two shared cores are slow).
    const replaced = await Promise.all(API.map((name) => stack.replace(name, staleMs)));
    const updateSeconds = (Date.now() - started) / 1000;
    await sleep(1000);
    running = false;
    await traffic.done;

    const failures = traffic.outcomes.filter((outcome) => outcome.error !== undefined);
    const counts = new Map<string, number>();
    for (const { kind } of traffic.outcomes) counts.set(kind, (counts.get(kind) ?? 0) + 1);
    const byKind = [...counts].map(([kind, count]) => `${kind} ${count}`);
    console.log(
      `rolling update of ${API.join(', ')} (${replaced.length} replicas in ${updateSeconds.toFixed(1)} s): ` +
        `${traffic.outcomes.length} requests (${byKind.join(', ')}), ${failures.length} failed, ${traffic.orders.length} orders placed`,
    );
    expect(failures).toEqual([]);
    expect(traffic.outcomes.length).toBeGreaterThan(200);
    // NGINX retries a refused or timed-out connection on another task, so a task that stopped at once
    // would still lose nothing here; but each such request would have waited, on a real swarm for the
    // 1 s connect timeout (a stopped container's address does not refuse). With the drain, every
    // request NGINX sends to a leaving task is answered by it: none needed a second task.
    const retried = stack.accessLog().filter((line) => String(line.upstreamStatus).includes(','));
    expect(retried.map((line) => `${line.method} ${line.uri} → ${line.upstreamStatus} via ${line.upstream}`)).toEqual([]);

    for (const { old, code } of replaced) {
      expect(code, old.name).toBe(0);
      expect(old.output(), old.name).toContain('draining');
      expect(old.output(), old.name).toContain('stopped cleanly');
    }
    for (const name of API) {
      expect(stack.running(name), name).toHaveLength(replicasOf(stack.service(name)));
      expect(stack.running(name).every((replica) => replica.listed), name).toBe(true);
    }

    const delivered = await Promise.all(traffic.orders.map((id) => waitForOrder(buyer, id)));
    expect(delivered.map((order) => order?.status)).toEqual(traffic.orders.map(() => 'delivered'));
    expect((await api('GET', `/api/catalog/books/${book.body.book.id}`)).body.book.stock).toBe(5000 - traffic.orders.length);
  }, 240_000);
});
