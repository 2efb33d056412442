/**
 * Mixed traffic through NGINX for the swarm tests: anonymous catalog reads (API and storefront
 * pages), signed-in reads and orders, from a few virtual users, with every answer recorded. A failure is any answer other than
 * the expected one (a 5xx above all), a reset, or a timeout. The only thing retried is a connection
 * NGINX refused (nothing was sent); retries are counted. `docker stats` is sampled alongside.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { HttpsClient, Reply } from '../stack/https.js';
import { ADDRESS, CARD, sleep, type User } from './swarm.js';

export interface Outcome {
  op: string;
  at: number;
  status?: number;
  error?: string;
}

export interface LoadOptions {
  users?: number;
  ordersPerSecond?: number;
  thinkMs?: number;
}

export class MixedLoad {
  readonly outcomes: Outcome[] = [];
  /** Every order id the store answered 201 for, with its buyer. */
  readonly orders = new Map<string, User>();
  refusedRetries = 0;
  private running = false;
  private loops: Promise<void>[] = [];
  private nextOrderAt = 0;

  constructor(
    private readonly api: HttpsClient,
    private readonly buyers: User[],
    private readonly books: number[],
    private readonly options: LoadOptions = {},
  ) {}

  start(): this {
    this.running = true;
    this.loops = Array.from({ length: this.options.users ?? 4 }, (_, n) => this.loop(n));
    return this;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Outcomes from index `from` on: how many, and the failures among them. */
  window(from: number, to = this.outcomes.length) {
    const slice = this.outcomes.slice(from, to);
    return { sent: slice.length, failures: slice.filter((o) => o.error !== undefined || !okStatus(o)) };
  }

  private async loop(n: number): Promise<void> {
    const buyer = this.buyers[n % this.buyers.length]!;
    const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)]!;
    while (this.running) {
      const r = Math.random();
      if (Date.now() >= this.nextOrderAt && r < 0.25) {
        this.nextOrderAt = Date.now() + 1000 / (this.options.ordersPerSecond ?? 2);
        await this.order(buyer, pick(this.books));
      } else if (r < 0.45) await this.call('books', 'GET', `/api/catalog/books?limit=10&page=${1 + Math.floor(Math.random() * 3)}`);
      else if (r < 0.6) await this.call('book', 'GET', `/api/catalog/books/${pick(this.books)}`);
      else if (r < 0.68) await this.call('search', 'GET', '/api/catalog/books?q=swarm&limit=5');
      else if (r < 0.71) await this.call('page', 'GET', '/?q=swarm');
      else if (r < 0.74) await this.call('page', 'GET', `/books/${pick(this.books)}`);
      else if (r < 0.84) await this.call('me', 'GET', '/api/auth/me', buyer.token);
      else await this.call('orders', 'GET', '/api/purchase/orders?limit=5', buyer.token);
      await sleep(this.options.thinkMs ?? 40);
    }
  }

  private async order(buyer: User, bookId: number): Promise<void> {
    const key = `load-${randomBytes(8).toString('hex')}`;
    const reply = await this.call('order', 'POST', '/api/purchase/orders', buyer.token, {
      headers: { 'idempotency-key': key },
      body: { items: [{ bookId, quantity: 1 }], deliveryProviderId: 'dhl', shippingAddress: ADDRESS, payment: CARD },
    });
    if (reply?.status === 201 || reply?.status === 200) this.orders.set(reply.body.order.id, buyer);
  }

  private async call(op: string, method: string, path: string, token?: string, extra: { headers?: Record<string, string>; body?: unknown } = {}): Promise<Reply | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        const reply = await this.api(method, path, { ...extra, ...(token ? { token } : {}) });
        this.outcomes.push({ op, at: Date.now(), status: reply.status });
        return reply;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // Refused: nothing reached a server (NGINX's port is closed while its task restarts).
        if (code === 'ECONNREFUSED' && attempt < 100 && this.running) {
          this.refusedRetries += 1;
          await sleep(100);
          continue;
        }
        this.outcomes.push({ op, at: Date.now(), error: code ?? (error as Error).message });
        return undefined;
      }
    }
  }
}

function okStatus(outcome: Outcome): boolean {
  return outcome.op === 'order' ? outcome.status === 201 : outcome.status === 200;
}

export const describeFailures = (failures: Outcome[]) =>
  Object.entries(failures.reduce<Record<string, number>>((acc, f) => ((acc[`${f.op} ${f.status ?? f.error}`] = (acc[`${f.op} ${f.status ?? f.error}`] ?? 0) + 1), acc), {}))
    .map(([what, count]) => `${what} ×${count}`)
    .join(', ') || 'none';

/** Peak memory of each container (by service and slot, e.g. `catalog.1`) from `docker stats --no-stream`. */
export class MemorySampler {
  readonly peaks = new Map<string, number>();
  samples = 0;
  private running = false;
  private done: Promise<void> = Promise.resolve();

  start(): this {
    this.running = true;
    this.done = (async () => {
      while (this.running) {
        await this.sample().catch(() => undefined);
        await sleep(1000);
      }
    })();
    return this;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  private sample(): Promise<void> {
    return new Promise((resolve, reject) => {
      execFile('docker', ['stats', '--no-stream', '--format', '{{.Name}}\t{{.MemUsage}}'], { env: { ...process.env, DOCKER_API_VERSION: '1.41' } }, (error, stdout) => {
        if (error) return reject(error);
        for (const line of stdout.split('\n').filter(Boolean)) {
          const [name, usage] = line.split('\t');
          const slot = /^bookstore_([\w-]+)\.(\w+)\./.exec(name ?? '');
          if (!slot) continue;
          const key = `${slot[1]}${/^\d+$/.test(slot[2]!) ? `.${slot[2]}` : ''}`;
          const mib = toMiB(usage!.split('/')[0]!.trim());
          this.peaks.set(key, Math.max(this.peaks.get(key) ?? 0, mib));
        }
        this.samples += 1;
        resolve();
      });
    });
  }
}

function toMiB(text: string): number {
  const match = /^([\d.]+)\s*([KMG]i?B|B)$/.exec(text);
  if (!match) return 0;
  const factor: Record<string, number> = { B: 1 / 1048576, KiB: 1 / 1024, KB: 1 / 1024, MiB: 1, MB: 1, GiB: 1024, GB: 1024 };
  return Number(match[1]) * (factor[match[2]!] ?? 1);
}

/** Every order of these buyers (all pages), as the store lists them. */
export async function ordersOf(api: HttpsClient, buyers: User[]): Promise<{ id: string; status: string; payment: { status: string } }[]> {
  const all = [];
  for (const buyer of buyers) {
    for (let page = 1; ; page++) {
      const reply = await api('GET', `/api/purchase/orders?limit=100&page=${page}`, { token: buyer.token });
      if (reply.status !== 200) throw new Error(`orders: ${reply.status} ${reply.text}`);
      all.push(...reply.body.items);
      if (reply.body.items.length < 100) break;
    }
  }
  return all;
}

/** Waits until every order of these buyers is in a final state; answers the counts by state. */
export async function settle(api: HttpsClient, buyers: User[], timeoutMs: number) {
  const final = (o: { status: string; payment: { status: string } }) =>
    o.status === 'delivered' || ((o.status === 'cancelled' || o.status === 'payment_failed') && o.payment.status !== 'captured' && o.payment.status !== 'pending');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const orders = await ordersOf(api, buyers);
    const counts: Record<string, number> = {};
    for (const o of orders) counts[`${o.status}/${o.payment.status}`] = (counts[`${o.status}/${o.payment.status}`] ?? 0) + 1;
    const open = orders.filter((o) => !final(o));
    if (open.length === 0 || Date.now() > deadline) return { orders, counts, open };
    await sleep(3000);
  }
}
