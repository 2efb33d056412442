/**
 * The database goes away under a running store (as when the mysql task restarts): every request that
 * needs it answers 503 service_unavailable with Retry-After, promptly, never a 500; when the database
 * is back, the same store answers as before without a restart. A TCP relay in front of the real
 * MariaDB plays the outage: closing it refuses new connections and cuts the open ones.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningStore } from '../kernel/store.js';
import { apiClient, createTestDatabase, expectProblem, freePort, servicesAvailable, signUp, startTestStore, type ApiRequest, type TestDatabase } from './harness.js';

const ready = await servicesAvailable('test/database-outage.test.ts', ['mysql']);

/** A relay to MariaDB that can be cut (`down`) and brought back (`up`) on the same port. */
class DatabaseRelay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  constructor(readonly port: number) {}

  async up() {
    this.server = createServer((client) => {
      const upstream = connect(3306, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    this.server.listen(this.port, '127.0.0.1');
    await once(this.server, 'listening');
  }

  async down() {
    const closed = this.server ? once(this.server, 'close') : undefined;
    this.server?.close();
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}

describe.runIf(ready)('the database goes away under a running store', () => {
  let database: TestDatabase;
  let relay: DatabaseRelay;
  let store: RunningStore;
  let request: ApiRequest;
  let token: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    relay = new DatabaseRelay(await freePort());
    await relay.up();
    const url = new URL(database.url);
    url.port = String(relay.port);
    store = await startTestStore({ DATABASE_URL: url.toString() });
    request = apiClient(store.url);
    ({ token } = await signUp(request, 'Olga Outage'));
  }, 60_000);

  afterAll(async () => {
    await store?.close();
    await relay?.down();
    await database?.drop();
  });

  const needsTheDatabase = [
    ['GET', '/api/catalog/books?q=outage'],
    ['GET', '/api/auth/me'],
    ['GET', '/api/purchase/orders'],
    ['POST', '/api/auth/login'],
  ] as const;

  it('answers 503 service_unavailable with Retry-After while it is gone, then as before once it is back', { timeout: 60_000 }, async () => {
    await relay.down();
    for (const [method, path] of needsTheDatabase) {
      const started = Date.now();
      const body = method === 'POST' ? { email: 'olga@example.com', password: 'not the password' } : undefined;
      const answer = await request(method, path, { token, body });
      expectProblem(answer, 503, 'service_unavailable');
      expect(answer.headers.get('retry-after'), `${method} ${path}`).toMatch(/^\d+$/);
      expect(Date.now() - started, `${method} ${path} answered promptly`).toBeLessThan(10_000);
    }
    const readiness = await request('GET', '/readyz');
    expect(readiness.status).toBe(503);

    await relay.up();
    const deadline = Date.now() + 20_000;
    let me = await request('GET', '/api/auth/me', { token });
    while (me.status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      me = await request('GET', '/api/auth/me', { token });
    }
    expect(me.status, JSON.stringify(me.body)).toBe(200);
    expect((await request('GET', '/api/catalog/books?q=outage')).status).toBe(200);
    expect((await request('GET', '/api/purchase/orders', { token })).status).toBe(200);
  });
});
