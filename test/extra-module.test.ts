import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { describeRoute } from 'hono-openapi';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppEnv } from '../kernel/app.js';
import { defineSettings, loadConfig, variableNames } from '../kernel/config.js';
import { INTERNAL_TOKEN_HEADER } from '../kernel/internal.js';
import { createLogger } from '../kernel/logger.js';
import { defineModule } from '../kernel/module.js';
import { Problem } from '../kernel/problem.js';
import { MODULES } from '../kernel/registry.js';
import { startStore, type RunningStore } from '../kernel/store.js';
import { configProblems } from './config.testkit.js';
import { TEST_ENV } from './harness.js';

/**
 * A module the store does not have, registered the way a new one would be (a folder, plus one line
 * in kernel/registry.ts): its own setting, problem code, queue, public route, internal API, and
 * start and stop. The real kernel must serve, configure, check, document and stop it.
 */
const greeterSettings = defineSettings(
  { GREETER_GREETING: v.optional(v.pipe(v.string(), v.minLength(2, 'must be at least 2 characters')), 'hello') },
  (values) => ({ greeting: values.GREETER_GREETING }),
);

interface GreeterState {
  greeted: string[];
  stopped: boolean;
}

function greeterRoutes(greeting: string): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/hello', describeRoute({ tags: ['greeter'], summary: 'A greeting', responses: { 200: { description: 'The greeting' } } }), (c) => c.json({ greeting }));
  app.post('/refuse', describeRoute({ tags: ['greeter'], summary: 'Always refused', responses: { 409: { description: 'greeting_refused' } } }), () => {
    throw new Problem(409, 'greeting_refused', 'Not today.');
  });
  return app;
}

/** Each test run gets its own state, kept by the instance that `setup` builds, never in this file. */
const greeter = defineModule({
  name: 'greeter',
  description: 'Greetings, for the test of an added module',
  settings: greeterSettings,
  problems: ['greeting_refused'],
  queues: { greetings: { attempts: 2, backoffMs: 10 } },
  setup: (ctx) => ({ ...ctx, state: { greeted: [], stopped: false } as GreeterState }),
  routes: (instance) => greeterRoutes(instance.settings.greeting),
  internalApi: (instance) => ({
    api: { greet: async (input: unknown) => `${instance.settings.greeting}, ${(input as { name: string }).name}` },
    operations: ['greet'],
  }),
  async start(instance) {
    instance.jobs.work<{ name: string }>('greetings', async (job) => void instance.state.greeted.push(job.data.name), 1);
    await instance.jobs.add({ queue: 'greetings', name: 'greet', data: { name: 'Ada' }, jobId: 'greet-ada', delayMs: 0 });
    return async () => {
      instance.state.stopped = true;
    };
  },
});

/** The registry with the added module: `MODULES` plus the one line. */
const REGISTRY = [...MODULES, greeter];
const TOKEN = 'a-service-token-of-some-length';

describe('a module added to the registry', () => {
  let dir: string;
  let store: RunningStore;
  let closed = false;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bookstore-extra-module-'));
    writeFileSync(join(dir, 'greeting'), 'good morning\n');
    const env = { ...TEST_ENV, BOOKSTORE_MODULES: 'greeter', DATABASE_URL: `sqlite:${join(dir, 'store.db')}`, INTERNAL_TOKEN: TOKEN, GREETER_GREETING_FILE: join(dir, 'greeting') };
    const config = loadConfig(env, REGISTRY);
    store = await startStore(config, REGISTRY, createLogger(config.logLevel));
  });

  afterAll(async () => {
    if (!closed) await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has its setting checked with the kernel’s, all at once, and its URL variable derived from its name', () => {
    expect(configProblems({ PORT: 'eighty', GREETER_GREETING: 'x' }, REGISTRY)).toEqual([
      expect.stringMatching(/^PORT: /),
      expect.stringMatching(/^GREETER_GREETING: must be at least 2 characters \(got "x"\)$/),
    ]);
    expect(variableNames(REGISTRY)).toEqual(expect.arrayContaining(['GREETER_GREETING', 'GREETER_URL']));
    expect(variableNames(MODULES)).not.toContain('GREETER_URL');
    expect(configProblems({ BOOKSTORE_MODULES: 'greeter,shop' }, REGISTRY)[0]).toMatch(/^BOOKSTORE_MODULES: .*greeter/);
    const elsewhere = loadConfig({ BOOKSTORE_MODULES: 'auth', GREETER_URL: 'http://greeter:3000/', INTERNAL_TOKEN: TOKEN }, REGISTRY);
    expect(elsewhere.serviceUrls).toEqual({ greeter: 'http://greeter:3000' });
  });

  it('is set up with its settings (read from a _FILE), and its instance is typed', () => {
    const instance = store.instanceOf(greeter);
    expect(instance.settings.greeting).toBe('good morning');
    expect(store.context.config.modules).toEqual(['greeter']);
    expect(store.servesApi).toBe(true);
  });

  it('serves its public routes and its problem code', async () => {
    const hello = await fetch(`${store.url}/api/greeter/hello`);
    expect(await hello.json()).toEqual({ greeting: 'good morning' });
    const refused = await fetch(`${store.url}/api/greeter/refuse`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ code: 'greeting_refused', type: 'https://bookstore.dev/problems/greeting-refused' });
  });

  it('serves its internal API, with the service token only', async () => {
    const call = (token: string) =>
      fetch(`${store.url}/internal/greeter/greet`, { method: 'POST', headers: { 'content-type': 'application/json', [INTERNAL_TOKEN_HEADER]: token }, body: JSON.stringify({ name: 'Grace' }) });
    expect(await (await call(TOKEN)).json()).toEqual({ result: 'good morning, Grace' });
    expect((await call('not-the-token-at-all')).status).toBe(401);
  });

  it('is documented in the OpenAPI document, with every module’s problem codes', async () => {
    const spec = (await (await fetch(`${store.url}/api/docs/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
      tags: { name: string }[];
      components: { schemas: { ProblemCode: { enum: string[] } } };
    };
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/api/greeter/hello', '/api/greeter/refuse']));
    expect(spec.tags.map((t) => t.name)).toEqual(['greeter']);
    // Codes of modules running elsewhere too: a call to one of them may pass its code on.
    expect(spec.components.schemas.ProblemCode.enum).toEqual(expect.arrayContaining(['greeting_refused', 'validation_failed', 'email_taken', 'insufficient_stock', 'idempotency_key_reused']));
  });

  it('runs its queue’s jobs and shows the queue on /metrics', async () => {
    const instance = store.instanceOf(greeter);
    const deadline = Date.now() + 5000;
    while (!instance.state.greeted.includes('Ada') && Date.now() < deadline) await new Promise((done) => setTimeout(done, 20));
    expect(instance.state.greeted).toEqual(['Ada']);
    const metrics = await (await fetch(`${store.url}/metrics`)).text();
    expect(metrics).toMatch(/^bookstore_queue_jobs\{(?=[^}]*queue="greetings")(?=[^}]*state="completed")[^}]*\} 1$/m);
  });

  it('is stopped with the store', async () => {
    const instance = store.instanceOf(greeter);
    await store.close();
    closed = true;
    expect(instance.state.stopped).toBe(true);
  });
});

describe('a process that runs only a worker', () => {
  it('serves no public routes, so it prints no banner, and has no session cache', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bookstore-worker-only-'));
    try {
      const config = loadConfig({ ...TEST_ENV, BOOKSTORE_MODULES: 'delivery-worker', DATABASE_URL: `sqlite:${join(dir, 'store.db')}` }, MODULES);
      const store = await startStore(config, MODULES, createLogger(config.logLevel));
      try {
        expect(store.servesApi).toBe(false);
        expect(store.context.sessions).toBeUndefined();
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
