/**
 * BookStore benchmark: `npm run bench` (full) or `npm run bench:quick` (CI-sized).
 *
 *   tsx bench/run.ts [--quick] [--topology one|split] [--fresh] [--runs N] [--seconds S]
 *                    [--only scenario,scenario,pipeline] [--runtime build|tsx] [--catalog-cache MB] [--node-options=FLAGS]
 *
 * 1. the dataset (bench/dataset.ts), created once and reused; migrations applied; run state reset;
 * 2. the store in the chosen topology (bench/topology.ts) and the bare ceiling server;
 * 3. every scenario (bench/scenarios.ts) warmed up, then measured N times, alternating with its
 *    ceiling; the order pipeline with 1 and 2 payment workers (bench/pipeline.ts);
 * 4. bench/out/<timestamp>.json and .md (bench/report.ts), the table also printed.
 */
import { Redis } from 'ioredis';
import { BENCH_PASSWORD, benchUserEmail, ensureDataset, lockDataset, resetRunState } from './dataset.js';
import { call, measure, type Measurement } from './load.js';
import { parseOptions } from './options.js';
import { measurePipeline } from './pipeline.js';
import { buildStore, runToEnd, storeCommand } from './processes.js';
import { derive, environment, markdown, maxRss, medianBy, writeReport, type PipelineResult, type Report, type ScenarioResult } from './report.js';
import { checkCeilingSql } from './sql-check.js';
import { detailId, selectScenarios, waitForOrdersSettled, type Context, type Scenario } from './scenarios.js';
import { serviceRuntimeEnv, startCeilingServer, startStoreTopology, type StoreEnv, type StoreTopology } from './topology.js';

const startedAt = Date.now();
const log = (line: string) => console.log(`[${String(Math.round((Date.now() - startedAt) / 1000)).padStart(4)} s] ${line}`);

async function clearRedis(url: string, prefix: string) {
  const redis = new Redis(url);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
}

/** Signs bench users in through the API (straight to the auth service) for the signed-in scenarios. */
async function signIn(store: StoreTopology, count: number): Promise<string[]> {
  const auth = { origin: () => store.direct('auth') };
  const tokens: string[] = [];
  for (let start = 1; start <= count; start += 4) {
    const batch = Array.from({ length: Math.min(4, count - start + 1) }, (_, i) => start + i);
    const replies = await Promise.all(
      batch.map((n) => call(auth, { method: 'POST', path: '/api/auth/login', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: benchUserEmail(n), password: BENCH_PASSWORD }) })),
    );
    for (const reply of replies) {
      if (reply.status !== 200) throw new Error(`login of a bench user failed: ${reply.status} ${reply.text}`);
      tokens.push((JSON.parse(reply.text) as { token: string }).token);
    }
  }
  return tokens;
}

/** Each scenario's first requests once, so a broken request shows its answer instead of a column of errors. */
async function preflight(ctx: Context, scenarios: Scenario[]): Promise<string[]> {
  const problems: string[] = [];
  for (const scenario of scenarios) {
    for (const part of scenario.parts(ctx)) {
      const seen = new Set<string>();
      for (const request of part.sequence(0).slice(0, 20)) {
        const key = `${request.method} ${request.path}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const reply = await call(part.target, request);
        if (reply.status < 200 || reply.status > 299) problems.push(`${scenario.name}: ${key} → ${reply.status} ${reply.text.slice(0, 300)}`);
      }
    }
  }
  return problems;
}

/** The ceiling returns what the store returns (same ids and total), or the ratios mean little. */
async function checkCeiling(ctx: Context): Promise<string[]> {
  const paths = ['/api/catalog/books', '/api/catalog/books?q=illustrated', '/api/catalog/books?q=gabriel%20marq', `/api/catalog/books/${detailId(ctx.dataset)}`];
  const notes: string[] = [];
  for (const path of paths) {
    const [store, sql] = await Promise.all([call(ctx.store, { path }), call(ctx.ceiling, { path: path.replace('/api/catalog/books', '/api/catalog/sql/books') })]);
    if (store.text !== sql.text) {
      const shape = (text: string) => {
        const body = JSON.parse(text) as { items?: { id: number }[]; total?: number; book?: { id: number } };
        return JSON.stringify(body.items ? { ids: body.items.map((b) => b.id), total: body.total } : { id: body.book?.id });
      };
      const same = shape(store.text) === shape(sql.text);
      notes.push(`database ceiling ${path}: ${same ? 'same books and total, JSON differs in detail' : `DIFFERENT result (store ${shape(store.text).slice(0, 120)}, ceiling ${shape(sql.text).slice(0, 120)}): update bench/baselines/bare-hono.ts to the store's queries`}`);
    }
  }
  return notes;
}

async function runBlock(ctx: Context, block: Scenario[], watched: (s: Scenario) => ReturnType<StoreTopology['watched']>): Promise<ScenarioResult[]> {
  const { profile } = ctx.options;
  const runs = new Map<string, Measurement[]>(block.map((s) => [s.name, []]));
  const settle = new Map<string, number[]>();
  const afterRun = async (scenario: Scenario) => {
    if (!scenario.placesOrders) return;
    const { seconds, open } = await waitForOrdersSettled(ctx.dataset, 300_000);
    if (open > 0) log(`  ${scenario.name}: ${open} orders still open after ${seconds.toFixed(0)} s`);
    settle.set(scenario.name, [...(settle.get(scenario.name) ?? []), seconds]);
  };
  for (const scenario of block) {
    await measure(scenario.parts(ctx), profile.warmupSeconds, []);
    await afterRun(scenario);
  }
  settle.clear();
  for (let run = 1; run <= profile.runs; run++) {
    for (const scenario of block) {
      const result = await measure(scenario.parts(ctx), profile.seconds, watched(scenario));
      runs.get(scenario.name)!.push(result);
      const parts = result.parts.map((p) => `${p.label}: ${p.rps.toFixed(0)} req/s, p50 ${p.p50Ms.toFixed(2)} ms, p99 ${p.p99Ms.toFixed(2)} ms, errors ${p.errors}`).join('; ');
      log(`  ${scenario.name} run ${run}: ${parts}`);
      await afterRun(scenario);
    }
  }
  return block.map((scenario) => {
    const all = runs.get(scenario.name)!;
    const waits = settle.get(scenario.name);
    return {
      name: scenario.name,
      title: scenario.title,
      kind: scenario.kind,
      ceiling: scenario.ceiling,
      runs: all,
      median: medianBy(all, (m) => m.parts[0]!.rps),
      peakRssMb: maxRss(all),
      ...(waits ? { settleSeconds: medianBy(waits, (s) => s) } : {}),
    };
  });
}

/** How this run was started, for the report. */
function commandLine(argv: string[]): string {
  const script = process.env.npm_lifecycle_event;
  if (script === 'bench' || script === 'bench:quick') {
    const extra = script === 'bench:quick' ? argv.filter((arg) => arg !== '--quick') : argv;
    return `npm run ${script}${extra.length ? ` -- ${extra.join(' ')}` : ''}`;
  }
  return ['tsx bench/run.ts', ...argv].join(' ');
}

async function main() {
  const started = Date.now();
  const options = parseOptions(process.argv.slice(2));
  const { profile } = options;
  const command = commandLine(options.argv);
  log(`BookStore benchmark (${profile.name}, topology ${options.topology}): ${command}`);

  const unlock = await lockDataset(options);
  const redisPrefix = `bookstore-bench:${profile.name}:`;
  let store: StoreTopology | undefined;
  let ceiling: Awaited<ReturnType<typeof startCeilingServer>> | undefined;
  try {
    let runtime = 'node --import tsx (sources compiled on load)';
    if (options.runtime === 'build') {
      // esbuild comes with tsx; should it ever be missing, the services run through tsx instead.
      runtime = await buildStore().catch((error: unknown) => {
        log(`esbuild build failed (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); running the services through tsx`);
        options.runtime = 'tsx';
        return 'node --import tsx (esbuild build failed)';
      });
    }
    const env0 = await environment(options, command);
    const dataset = await ensureDataset(options, log);
    log(`dataset ${dataset.database}: ${dataset.books} books, ${dataset.users} users (${dataset.created ? 'created' : 'reused'} in ${dataset.seconds.toFixed(1)} s)`);
    await runToEnd(storeCommand(options.runtime, 'kernel/cli/migrate.ts', ['up']), { DATABASE_URL: dataset.url, BOOKSTORE_MODULES: 'all', LOG_LEVEL: 'warn' });
    await resetRunState(dataset);
    await clearRedis(options.redisUrl, redisPrefix);

    const env: StoreEnv = { options, dataset, redisPrefix };
    store = await startStoreTopology(env);
    log(`store: ${store.description}`);
    const tokens = await signIn(store, Math.min(dataset.users, 64));
    ceiling = await startCeilingServer(env, store, ['/api/catalog/books']);
    const ctx: Context = { options, dataset, store, ceiling, tokens };

    const notes: string[] = [];
    if (store.edge === 'none' && options.topology === 'split') notes.push('split WITHOUT NGINX (nginx not installed, or BENCH_NGINX=off): each request goes straight to the service that owns its path, the mixed workload as one load per service with connections in proportion');
    if (store.edge === 'nginx') notes.push('split behind NGINX (HTTPS, project template); login scenarios go straight to the auth service, since NGINX limits sign-in to 30/min per address; ceilings go through an NGINX of their own');
    if (options.catalogCacheMb !== undefined) notes.push(`CATALOG_CACHE_MB=${options.catalogCacheMb} for the store${options.catalogCacheMb === '0' ? ': the catalog read cache is off, every catalog read goes to MariaDB' : ''}`);
    if (dataset.newerMigrations.length) notes.push(`migrations applied after the dataset was made: ${dataset.newerMigrations.join(', ')} (rebuild with --fresh if they change how books or users are stored)`);
    notes.push(...(await checkCeiling(ctx)));
    const sql = await checkCeilingSql(env, store);
    if (!sql.same) {
      const note = `the store's catalog SQL is not the database ceiling's any more (update bench/baselines/catalog-sql.ts): store only: ${sql.onlyInStore.join(' ; ') || '–'}; ceiling only: ${sql.onlyInCeiling.join(' ; ') || '–'}`;
      log(`WARNING ${note}`);
      notes.push(note);
    }

    const scenarios = selectScenarios(options);
    const problems = await preflight(ctx, scenarios);
    for (const problem of problems) log(`preflight: ${problem}`);
    if (problems.length) notes.push(`preflight failures: ${problems.join(' | ')}`);

    const results: ScenarioResult[] = [];
    const blocks = [...new Set(scenarios.map((s) => s.block))];
    for (const name of blocks) {
      const block = scenarios.filter((s) => s.block === name);
      log(`block ${name}: ${block.map((s) => s.name).join(', ')}`);
      const { store: s, ceiling: c } = ctx;
      results.push(...(await runBlock(ctx, block, (scenario) => (scenario.kind === 'store' ? s.watched() : c.watched()))));
    }
    await ceiling.stop();
    ceiling = undefined;
    await store.stop();
    store = undefined;

    const pipeline: PipelineResult[] = [];
    const wantPipeline = options.only.length ? options.only.includes('pipeline') : true;
    if (wantPipeline) {
      for (const workers of profile.paymentWorkers) {
        const { runs, description } = await measurePipeline(env, { options, dataset, ceiling: ctx.ceiling, tokens }, workers, log);
        pipeline.push({ paymentWorkers: workers, description, runs, median: medianBy(runs, (r) => r.ordersPerSecond) });
      }
    }

    const partial: Pick<Report, 'scenarios' | 'pipeline'> = { scenarios: results, pipeline };
    const report: Report = {
      environment: env0,
      profile,
      topology: ctx.store.description,
      runtime: `${runtime}, with ${Object.entries(serviceRuntimeEnv(options)).map(([name, value]) => `${name}=${value}`).join(' ')}${options.nodeOptions === undefined ? ' (the image’s)' : ' (--node-options)'}`,
      dataset: { database: dataset.database, books: dataset.books, users: dataset.users, created: dataset.created, seconds: dataset.seconds, newerMigrations: dataset.newerMigrations },
      notes,
      ...partial,
      ...derive(partial),
      seconds: (Date.now() - started) / 1000,
    };
    const files = writeReport(report);
    console.log(`\n${markdown(report)}`);
    console.log(`written: ${files.json}\n         ${files.md}`);
  } finally {
    await ceiling?.stop();
    await store?.stop();
    await clearRedis(options.redisUrl, redisPrefix).catch(() => undefined);
    await unlock();
  }
}

try {
  await main();
  process.exit(0);
} catch (error) {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
}
