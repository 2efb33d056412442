/**
 * Issue 10: the administrator comes from the environment of every auth task, and with two or more
 * replicas (or a start-first update) several tasks start at the same moment on one database.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningStore } from '../../kernel/store.js';
import { apiClient, createTestDatabase, servicesAvailable, startTestStore, type TestDatabase } from '../../test/harness.js';

const ready = await servicesAvailable('modules/auth/admin.test.ts', ['mysql']);
const EMAIL = 'admin@replicas.example.test';

interface Backend {
  url: string;
  close(): Promise<void>;
}

async function mariadb(): Promise<Backend> {
  const db: TestDatabase = await createTestDatabase();
  return { url: db.url, close: () => db.drop() };
}

async function sqlite(): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), 'bookstore-admin-'));
  return { url: `sqlite:${join(dir, 'bookstore.db')}`, close: async () => rmSync(dir, { recursive: true, force: true }) };
}

/** `count` auth tasks started together on one database, as Swarm starts replicas. */
async function startTogether(url: string, count: number, password: string): Promise<RunningStore[]> {
  const env = { BOOKSTORE_MODULES: 'auth', DATABASE_URL: url, BOOKSTORE_MIGRATE: 'false', BOOKSTORE_ADMIN_EMAIL: EMAIL, BOOKSTORE_ADMIN_PASSWORD: password };
  const started = await Promise.allSettled(Array.from({ length: count }, () => startTestStore(env)));
  const stores = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failures = started.flatMap((result) => (result.status === 'rejected' ? [String(result.reason)] : []));
  if (failures.length > 0) await Promise.all(stores.map((store) => store.close()));
  expect(failures).toEqual([]);
  return stores;
}

async function adminRows(store: RunningStore) {
  return store.context.db.em.getConnection().execute<{ role: string }[]>('select role from auth_users where email = ?', [EMAIL]);
}

async function signsIn(store: RunningStore, password: string) {
  const reply = await apiClient(store.url)('POST', '/api/auth/login', { body: { email: EMAIL, password } });
  return { status: reply.status, role: reply.body?.user?.role };
}

const backends = [
  ['MariaDB', mariadb, ready],
  ['SQLite', sqlite, true],
] as const;

for (const [name, open, available] of backends) {
  describe.runIf(available)(`the administrator with three auth tasks starting at once (${name})`, () => {
    let backend: Backend;

    beforeAll(async () => {
      backend = await open();
      // The migrate service's work, done once before the tasks start (they run with BOOKSTORE_MIGRATE=false).
      const migrate = await startTestStore({ BOOKSTORE_MODULES: 'auth', DATABASE_URL: backend.url });
      await migrate.close();
    });

    afterAll(() => backend?.close());

    it('all start, one admin row exists, and it signs in', async () => {
      const stores = await startTogether(backend.url, 3, 'first admin password');
      try {
        expect(await adminRows(stores[0]!)).toEqual([{ role: 'admin' }]);
        expect(await signsIn(stores[2]!, 'first admin password')).toEqual({ status: 200, role: 'admin' });
      } finally {
        await Promise.all(stores.map((store) => store.close()));
      }
    });

    it('with a new password (a new secret rolled out), all start again and only the new one signs in', async () => {
      const stores = await startTogether(backend.url, 3, 'second admin password');
      try {
        expect(await adminRows(stores[0]!)).toEqual([{ role: 'admin' }]);
        expect(await signsIn(stores[1]!, 'second admin password')).toEqual({ status: 200, role: 'admin' });
        expect((await signsIn(stores[0]!, 'first admin password')).status).toBe(401);
      } finally {
        await Promise.all(stores.map((store) => store.close()));
      }
    });
  });
}
