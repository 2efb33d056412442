/**
 * Issue 10: a rolling update (`docker service update --force`) of each app service and of nginx
 * while mixed traffic runs through NGINX: no failed request (no 5xx, reset or timeout; for nginx
 * itself, on one node, resets and refused connections of its port hand-over only) and every
 * order placed during the run ends delivered. Peak memory per container under this load
 * (`docker stats`) is printed for bench/RESULTS.md.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpsClient } from '../stack/https.js';
import { describeFailures, MemorySampler, MixedLoad, settle, type Outcome } from './load.js';
import { converged, dockerAsync, sellBook, signUp, sleep, STACK, STATE, storeClient, swarmAvailable, type User } from './swarm.js';

const ready = swarmAvailable('test/swarm/rolling.swarm.ts');
const SERVICES = ['auth', 'catalog', 'purchase', 'storefront', 'payment-worker', 'delivery-worker', 'nginx'];

describe.runIf(ready)('the real stack: rolling updates under load', () => {
  let api: HttpsClient;
  let buyers: User[];
  let books: number[];

  beforeAll(async () => {
    api = storeClient();
    const seller = await signUp(api, 'Rollseller');
    buyers = [await signUp(api, 'Rollbuyer'), await signUp(api, 'Rollbuyer')];
    books = [await sellBook(api, seller, 'Swarm Rolling One'), await sellBook(api, seller, 'Swarm Rolling Two')];
  });
  afterAll(() => api?.close());

  it('docker service update --force of every app service and of nginx: 0 failed requests, every order delivered', async () => {
    const load = new MixedLoad(api, buyers, books, { users: 4, ordersPerSecond: 2 }).start();
    const memory = new MemorySampler().start();
    const nginxFailures: Outcome[] = [];
    const report: { service: string; sent: number; failed: number; seconds: number; failures: string }[] = [];
    try {
      await sleep(5000);
      for (const service of SERVICES) {
        const from = load.outcomes.length;
        const started = Date.now();
        await dockerAsync('service', 'update', '--force', '--no-resolve-image', '--detach=false', '--quiet', `${STACK}_${service}`);
        await converged(service);
        await sleep(3000);
        const { sent, failures } = load.window(from);
        if (service === 'nginx') nginxFailures.push(...failures);
        report.push({ service, sent, failed: failures.length, seconds: Math.round((Date.now() - started) / 1000), failures: describeFailures(failures) });
        console.log(`update ${service}: ${sent} requests in ${report.at(-1)!.seconds} s, ${failures.length} failed (${describeFailures(failures)})`);
      }
    } finally {
      await load.stop();
      await memory.stop();
    }
    const { orders, counts, open } = await settle(api, buyers, 240_000);
    console.log(`orders placed during the updates: ${load.orders.size}; final states: ${JSON.stringify(counts)}; connections refused and retried: ${load.refusedRetries}`);

    const peaks = [...memory.peaks].sort(([a], [b]) => a.localeCompare(b));
    const table = [
      `| service | requests | failed | seconds |`,
      `|---|---:|---:|---:|`,
      ...report.map((r) => `| ${r.service} | ${r.sent} | ${r.failed} | ${r.seconds} |`),
      '',
      `| container | peak memory (MiB) |`,
      `|---|---:|`,
      ...peaks.map(([name, mib]) => `| ${name} | ${mib.toFixed(1)} |`),
      '',
      `${memory.samples} samples of docker stats --no-stream; ${load.outcomes.length} requests; ${load.orders.size} orders: ${JSON.stringify(counts)}`,
    ].join('\n');
    writeFileSync(join(STATE, 'rolling-results.md'), `${table}\n`);
    console.log(table);

    // The app services: nothing fails. nginx: its host-mode port is held by one task at a time, so on
    // one node its stop-first update closes the port for a moment (docs/deploy.md): connections are
    // refused (retried by the load generator) or reset, but no request gets a 5xx or times out.
    expect(report.filter((r) => r.service !== 'nginx' && r.failed > 0)).toEqual([]);
    expect(nginxFailures.filter((f) => f.error !== 'ECONNRESET')).toEqual([]);
    expect(open).toEqual([]);
    expect(load.orders.size).toBeGreaterThan(50);
    const status = new Map(orders.map((o) => [o.id, `${o.status}/${o.payment.status}`]));
    expect([...load.orders.keys()].filter((id) => status.get(id) !== 'delivered/captured')).toEqual([]);
  });
});
