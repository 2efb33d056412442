/**
 * Test harness: real MariaDB and Redis, a database and a key prefix of its own for every test file,
 * and the real store listening on a free port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, beforeEach, describe, expect } from 'vitest';
import { Redis } from 'ioredis';
import { loadConfig } from '../kernel/config.js';
import { createLogger } from '../kernel/logger.js';
import { MODULES } from '../kernel/registry.js';
import { startStore, type RunningStore } from '../kernel/store.js';

export const MYSQL_SERVER = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
export const REDIS_SERVER = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const IN_CI = process.env.CI === 'true';

async function mysqlAnswers(): Promise<boolean> {
  try {
    const connection = await createConnection({ uri: MYSQL_SERVER, connectTimeout: 2000 });
    await connection.end();
    return true;
  } catch {
    return false;
  }
}

async function redisAnswers(): Promise<boolean> {
  const redis = new Redis(REDIS_SERVER, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
    return true;
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/**
 * Whether the services a test file needs answer. Outside CI a missing one skips the file with one
 * line saying so; under CI=true it fails the run.
 */
export async function servicesAvailable(file: string, needs: ('mysql' | 'redis')[]): Promise<boolean> {
  const missing: string[] = [];
  if (needs.includes('mysql') && !(await mysqlAnswers())) missing.push(`MariaDB at ${MYSQL_SERVER}`);
  if (needs.includes('redis') && !(await redisAnswers())) missing.push(`Redis at ${REDIS_SERVER}`);
  if (missing.length === 0) return true;
  const message = `${file}: ${missing.join(' and ')} not reachable`;
  if (IN_CI) throw new Error(`${message} (CI=true: failing instead of skipping)`);
  console.warn(`SKIPPED ${message}`);
  return false;
}

export interface TestDatabase {
  url: string;
  name: string;
  query(sql: string, params?: unknown[]): Promise<unknown>;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `bookstore_test_${randomBytes(5).toString('hex')}`;
  const admin = await createConnection({ uri: MYSQL_SERVER });
  await admin.query(`create database \`${name}\``);
  const url = MYSQL_SERVER.replace(/\/[^/]*$/, `/${name}`);
  return {
    url,
    name,
    async query(sql, params = []) {
      const [rows] = await admin.query(`use \`${name}\``).then(() => admin.query(sql, params));
      return rows;
    },
    async drop() {
      await admin.query(`drop database if exists \`${name}\``);
      await admin.end();
    },
  };
}

export interface TestRedis {
  url: string;
  prefix: string;
  drop(): Promise<void>;
}

export function testRedis(): TestRedis {
  const prefix = `bookstore-test-${randomBytes(5).toString('hex')}:`;
  return {
    url: REDIS_SERVER,
    prefix,
    async drop() {
      const redis = new Redis(REDIS_SERVER);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        if (keys.length) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
}

export const TEST_ENV = { PORT: '0', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', TRUST_PROXY: 'true' };

export async function startTestStore(env: Record<string, string>): Promise<RunningStore> {
  const config = loadConfig({ ...TEST_ENV, ...env }, MODULES);
  return startStore(config, MODULES, createLogger(config.logLevel));
}

/** A store started as its own process, exactly as `npm start` / the container would run it. */
export interface StoreProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `nodeArgs` go to node itself, e.g. `--cpu-prof` for profiling (not allowed in NODE_OPTIONS). */
export async function startStoreProcess(env: Record<string, string>, port: number, nodeArgs: string[] = []): Promise<StoreProcess> {
  let output = '';
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'kernel/main.ts'], {
    env: { PATH: process.env.PATH ?? '', ...TEST_ENV, LOG_LEVEL: 'info', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`store process exited with ${child.exitCode}:\n${output}`);
    const healthy = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (healthy) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}

/** A port the OS says is free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

export interface RequestOptions {
  body?: unknown;
  rawBody?: string;
  token?: string;
  headers?: Record<string, string>;
}

// `any` on purpose: the tests read response bodies loosely, and each assertion says what it expects.
type Json = any;

/** A small JSON client for the store's HTTP API. */
export function apiClient(baseUrl: string) {
  return async function request(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<Json>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined = options.rawBody;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
    const text = await response.text();
    let parsed: Json = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, headers: response.headers, body: parsed };
  };
}
export type ApiRequest = ReturnType<typeof apiClient>;

let emailCounter = 0;
export function uniqueEmail(label = 'user'): string {
  emailCounter += 1;
  return `${label}.${emailCounter}.${randomBytes(3).toString('hex')}@example.test`;
}

/** Registers and signs in a new customer; returns the token and the user. */
export async function signUp(request: ApiRequest, name = 'Test User', address = `10.0.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`) {
  const email = uniqueEmail(name.split(' ')[0]!.toLowerCase());
  const password = 'correct horse battery';
  const headers = { 'x-forwarded-for': address };
  const registered = await request('POST', '/api/auth/register', { body: { name, email, password }, headers });
  if (registered.status !== 201) throw new Error(`register failed: ${registered.status} ${JSON.stringify(registered.body)}`);
  const login = await request('POST', '/api/auth/login', { body: { email, password }, headers });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`);
  return { token: login.body.token as string, user: login.body.user as { id: number; email: string; name: string }, email, password, cookie: login.headers.get('set-cookie') ?? '' };
}

/** The response is an RFC 9457 problem document with this status and code. */
export function expectProblem(response: ApiResponse<Json>, status: number, code: string) {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json(;|$)/);
  expect(response.body).toMatchObject({ status, code });
  expect(typeof response.body.title).toBe('string');
  expect(typeof response.body.detail).toBe('string');
  expect(typeof response.body.type).toBe('string');
}

export interface IsolatedStore {
  db: TestDatabase;
  redis: TestRedis;
  store: RunningStore;
  request: ApiRequest;
  /** Stops the store, then drops its database and Redis keys. */
  close(): Promise<void>;
}

/** The real store on a MariaDB database and a Redis key prefix of its own. */
export async function startIsolatedStore(env: Record<string, string> = {}): Promise<IsolatedStore> {
  const db = await createTestDatabase();
  const redis = testRedis();
  const drop = async () => {
    await db.drop();
    await redis.drop();
  };
  let store: RunningStore;
  try {
    store = await startTestStore({ DATABASE_URL: db.url, REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix, ...env });
  } catch (error) {
    await drop();
    throw error;
  }
  return {
    db,
    redis,
    store,
    request: apiClient(store.url),
    async close() {
      await store.close();
      await drop();
    },
  };
}

/** The two backends every behaviour must agree on: the embedded default and the production one. */
export const BACKENDS = ['sqlite', 'mariadb+redis'] as const;
export type Backend = (typeof BACKENDS)[number];

export interface BackendStore {
  backend: Backend;
  store: RunningStore;
  request: ApiRequest;
  /** Runs SQL on the store's own database (SQLite file or MariaDB database), for checks the API cannot show. */
  sql<Row = Record<string, unknown>>(query: string, params?: unknown[]): Promise<Row[]>;
  close(): Promise<void>;
}

/**
 * The real store on one backend: a fresh SQLite file with in-process limits and jobs, or a MariaDB
 * database and Redis prefix of its own. Outside CI, `mariadb+redis` answers undefined (the file
 * says SKIPPED) when those services are not reachable.
 */
export async function startStoreOn(backend: Backend, env: Record<string, string> = {}): Promise<BackendStore> {
  if (backend === 'mariadb+redis') {
    const isolated = await startIsolatedStore(env);
    return { backend, store: isolated.store, request: isolated.request, sql: sqlOf(isolated.store), close: () => isolated.close() };
  }
  const dir = mkdtempSync(join(tmpdir(), 'bookstore-sqlite-'));
  let store: RunningStore;
  try {
    store = await startTestStore({ DATABASE_URL: `sqlite:${join(dir, 'bookstore.db')}`, ...env });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    backend,
    store,
    request: apiClient(store.url),
    sql: sqlOf(store),
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function sqlOf(store: RunningStore): BackendStore['sql'] {
  return (query, params = []) => store.context.db.em.getConnection().execute(query, params) as never;
}

/**
 * Runs `body` once per backend, each in its own describe with its own store (started before the
 * first test, closed after the last). The MariaDB + Redis half skips (or fails under CI=true) when
 * those services are not reachable.
 */
export function describeOnEachBackend(title: string, body: (store: () => BackendStore) => void, env: Record<string, string> = {}) {
  for (const backend of BACKENDS) {
    describe(`${title} (${backend})`, () => {
      let running: BackendStore | undefined;
      let available = true;
      beforeAll(async () => {
        if (backend === 'mariadb+redis') available = await servicesAvailable(title, ['mysql', 'redis']);
        if (available) running = await startStoreOn(backend, env);
      });
      afterAll(async () => {
        await running?.close();
      });
      beforeEach((test) => {
        if (!available) test.skip();
      });
      body(() => {
        if (!running) throw new Error(`the ${backend} store did not start`);
        return running;
      });
    });
  }
}
