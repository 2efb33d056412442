/**
 * The order pipeline end to end: POST N orders as fast as 16 connections go, while the payment and
 * delivery workers (all delays 0) take them to `delivered`; orders per second = delivered orders /
 * (last `delivered` − first POST). Statuses are read from the database with mysql2, not the API.
 * Measured with 1 and 2 separate payment-worker processes (see bench/topology.ts).
 */
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import { runPart, type PartStats } from './load.js';
import { sampleRss, sleep } from './processes.js';
import { orderBody, orderStatuses, waitForOrdersSettled, type Context } from './scenarios.js';
import { startStoreTopology, type StoreEnv } from './topology.js';

export interface PipelineRun {
  paymentWorkers: number;
  posted: PartStats;
  /** Orders created in the run, by final status. */
  statuses: Record<string, number>;
  delivered: number;
  /** First POST to the last order's `delivered`. */
  seconds: number;
  ordersPerSecond: number;
  /** Orders still open when the run gave up waiting (0 when every order settled). */
  unsettled: number;
  peakRssMb: Record<string, number>;
}

const OPEN = ['reserving', 'pending_payment', 'paid', 'shipped'];

async function openOrders(db: Connection): Promise<number> {
  const [[row]] = (await db.query<RowDataPacket[]>('select count(*) as n from purchase_orders where status in (?)', [OPEN])) as unknown as [RowDataPacket[]];
  return Number(row!.n);
}

async function lastDelivered(db: Connection, since: Date): Promise<number> {
  const [[row]] = (await db.query<RowDataPacket[]>("select max(updated_at) as at from purchase_orders where created_at >= ? and status = 'delivered'", [since])) as unknown as [RowDataPacket[]];
  return row!.at instanceof Date ? row!.at.getTime() : since.getTime();
}

async function onePipelineRun(ctx: Context, paymentWorkers: number, orders: number, timeoutMs: number): Promise<PipelineRun> {
  const db = await createConnection({ uri: ctx.dataset.url, timezone: 'Z' });
  try {
    const since = new Date();
    const rss = sampleRss(ctx.store.watched());
    const posted = await runPart(
      {
        label: 'orders',
        target: ctx.store,
        connections: 16,
        amount: orders,
        sequence: (i) => [{ method: 'POST', path: '/api/purchase/orders', headers: { 'content-type': 'application/json', authorization: `Bearer ${ctx.tokens[i % ctx.tokens.length]!}` }, body: orderBody(ctx.dataset.benchBookIds[i % ctx.dataset.benchBookIds.length]!) }],
      },
      0,
    );
    let open = await openOrders(db);
    while (open > 0 && Date.now() - since.getTime() < timeoutMs) {
      await sleep(100);
      open = await openOrders(db);
    }
    const peakRssMb = rss.stop();
    const statuses = await orderStatuses(db, since);
    const delivered = statuses.delivered ?? 0;
    const seconds = Math.max(0.001, ((await lastDelivered(db, since)) - since.getTime()) / 1000);
    return { paymentWorkers, posted, statuses, delivered, seconds, ordersPerSecond: Math.round((delivered / seconds) * 10) / 10, unsettled: open, peakRssMb };
  } finally {
    await db.end();
  }
}

/**
 * Restarts the store with `paymentWorkers` payment-worker processes, warms up, measures `runs` times.
 * Orders per run: `profile.pipelineSeconds` worth at the warm-up's rate (POSTs or deliveries, the slower), within
 * [pipelineOrders.min, pipelineOrders.max], so a slow store does not make the run last minutes.
 */
export async function measurePipeline(env: StoreEnv, ctx: Omit<Context, 'store'>, paymentWorkers: number, log: (line: string) => void): Promise<{ runs: PipelineRun[]; description: string }> {
  const { profile } = env.options;
  const timeoutMs = 300_000;
  await waitForOrdersSettled(ctx.dataset, timeoutMs);
  const store = await startStoreTopology(env, paymentWorkers);
  try {
    const context = { ...ctx, store };
    const warmup = await onePipelineRun(context, paymentWorkers, profile.pipelineOrders.warmup, timeoutMs);
    const { min, max } = profile.pipelineOrders;
    const rate = Math.min(warmup.posted.rps, warmup.ordersPerSecond);
    const orders = Math.round(Math.min(max, Math.max(min, rate * profile.pipelineSeconds)));
    log(`  pipeline, ${paymentWorkers} payment worker(s): warm-up ${warmup.delivered} orders at ${warmup.ordersPerSecond} orders/s; ${orders} orders per run`);
    const runs: PipelineRun[] = [];
    for (let run = 1; run <= profile.runs; run++) {
      const result = await onePipelineRun(context, paymentWorkers, orders, timeoutMs);
      runs.push(result);
      log(`  pipeline, ${paymentWorkers} payment worker(s), run ${run}: ${result.delivered} delivered in ${result.seconds.toFixed(1)} s = ${result.ordersPerSecond} orders/s (POST ${result.posted.rps} /s, errors ${result.posted.errors}, unsettled ${result.unsettled})`);
    }
    return { runs, description: store.description };
  } finally {
    await store.stop();
  }
}
