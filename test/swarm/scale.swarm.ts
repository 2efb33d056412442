/**
 * Issue 10: the scale examples of docs/deploy.md converge on this 2-CPU node, and the extra
 * replicas take work: NGINX spreads requests over every catalog task (each task's own access log),
 * and payment jobs run on several payment workers (the SQL each worker's address sends to MariaDB).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpsClient } from '../stack/https.js';
import { settle } from './load.js';
import { ADDRESS, CARD, containersOf, converged, docker, internalAddresses, mysql, replicas, sellBook, signUp, sleep, STACK, storeClient, swarmAvailable } from './swarm.js';

const ready = swarmAvailable('test/swarm/scale.swarm.ts');

describe.runIf(ready)('the real stack: scaling on one 2-CPU node', () => {
  let api: HttpsClient;
  const before = new Map<string, number>();

  beforeAll(() => {
    api = storeClient();
    for (const service of ['catalog', 'payment-worker']) before.set(service, replicas(service).desired);
  });
  afterAll(async () => {
    for (const [service, count] of before) docker('service', 'scale', '--detach', `${STACK}_${service}=${count}`);
    for (const service of before.keys()) await converged(service);
    api?.close();
  });

  it('docker service scale bookstore_catalog=3: three tasks run, and requests are spread over them', async () => {
    docker('service', 'scale', '--detach', `${STACK}_catalog=3`);
    await converged('catalog');
    expect(containersOf('catalog')).toHaveLength(3);
    await sleep(3000); // NGINX re-resolves tasks.catalog (its resolver's validity)

    const tag = `split-${randomBytes(4).toString('hex')}`;
    for (let i = 0; i < 60; i++) {
      const reply = await api('GET', `/api/catalog/books?limit=2&page=${1 + (i % 3)}`, { headers: { 'x-request-id': `${tag}-${i}` } });
      expect(reply.status).toBe(200);
    }
    await sleep(1000);
    const served = containersOf('catalog').map((id) => (docker('logs', id).match(new RegExp(`"requestId":"${tag}-`, 'g')) ?? []).length);
    console.log(`catalog requests per task (of 60): ${served.join(' / ')}`);
    expect(served.reduce((a, b) => a + b, 0)).toBe(60);
    for (const count of served) expect(count).toBeGreaterThanOrEqual(5);
  });

  it('docker service scale bookstore_payment-worker=5: five tasks run, and payment jobs run on several of them', async () => {
    docker('service', 'scale', '--detach', `${STACK}_payment-worker=5`);
    await converged('payment-worker');
    const workers = internalAddresses('payment-worker');
    expect(workers.size).toBe(5);

    const seller = await signUp(api, 'Scaleseller');
    const buyer = await signUp(api, 'Scalebuyer');
    const bookId = await sellBook(api, seller, 'Swarm Scaling Handbook');
    mysql("set global log_output='TABLE'; truncate mysql.general_log; set global general_log=1");
    try {
      // Four at a time: enough to keep five workers busy (each pays in PAYMENT_DELAY_MS).
      const statuses: number[] = [];
      for (let round = 0; round < 10; round++) {
        const replies = await Promise.all(
          Array.from({ length: 4 }, () =>
            api('POST', '/api/purchase/orders', { token: buyer.token, body: { items: [{ bookId, quantity: 1 }], deliveryProviderId: 'dhl', shippingAddress: ADDRESS, payment: CARD } }),
          ),
        );
        statuses.push(...replies.map((reply) => reply.status));
      }
      expect(statuses).toEqual(Array(40).fill(201));
      const { counts, open } = await settle(api, [buyer], 120_000);
      console.log(`40 orders with 5 payment workers: ${JSON.stringify(counts)}`);
      expect(open).toEqual([]);
    } finally {
      mysql('set global general_log=0');
    }
    // MariaDB logs the connecting address with every statement (it runs with --skip-name-resolve).
    const byHost = mysql("select user_host, count(*) from mysql.general_log where command_type='Query' group by user_host");
    const perWorker = [...workers.keys()].map((ip) => byHost.filter(([host]) => host!.includes(`[${ip}]`)).reduce((sum, [, count]) => sum + Number(count), 0));
    console.log(`statements per payment worker while 40 orders were paid: ${perWorker.join(' / ')}`);
    expect(perWorker.filter((count) => count > 0).length).toBeGreaterThanOrEqual(3);
  });
});
