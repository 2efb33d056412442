/**
 * Command-line options of `bench/run.ts` and the two profiles, full and quick.
 *
 *   tsx bench/run.ts [--quick] [--topology one|split] [--fresh] [--runs N] [--seconds S]
 *                    [--only name,name] [--runtime build|tsx] [--catalog-cache MB] [--node-options=FLAGS]
 */
export type Topology = 'one' | 'split';
export type Runtime = 'build' | 'tsx';

export interface Profile {
  name: 'full' | 'quick';
  /** The dataset: its own database, created once and reused. */
  database: string;
  books: number;
  users: number;
  /** Runs of every scenario; the median run is reported. */
  runs: number;
  seconds: number;
  warmupSeconds: number;
  /** Orders of the pipeline's warm-up, and the bounds of the orders per measured run. */
  pipelineOrders: { warmup: number; min: number; max: number };
  /** Orders per pipeline run: about this many seconds of POSTs at the warm-up's rate. */
  pipelineSeconds: number;
  /** Payment-worker process counts the pipeline is measured with. */
  paymentWorkers: number[];
}

export const FULL: Profile = {
  name: 'full',
  database: 'bookstore_bench',
  books: 100_000,
  users: 1_000,
  runs: 3,
  seconds: 10,
  warmupSeconds: 3,
  pipelineOrders: { warmup: 200, min: 200, max: 3_000 },
  pipelineSeconds: 10,
  paymentWorkers: [1, 2],
};

export const QUICK: Profile = {
  name: 'quick',
  database: 'bookstore_bench_quick',
  books: 5_000,
  users: 50,
  runs: 1,
  seconds: 3,
  warmupSeconds: 1,
  pipelineOrders: { warmup: 48, min: 48, max: 300 },
  pipelineSeconds: 3,
  paymentWorkers: [2],
};

export interface Options {
  profile: Profile;
  topology: Topology;
  fresh: boolean;
  /** Scenario names to run (all of the profile's when empty). */
  only: string[];
  runtime: Runtime;
  /** CATALOG_CACHE_MB of the store's processes; unset: the store's default. `0` measures every read on the database. */
  catalogCacheMb: string | undefined;
  /** NODE_OPTIONS of the store's processes instead of the image's (docker/Dockerfile), to try other memory settings. */
  nodeOptions: string | undefined;
  /** MySQL server (the database name in it is ignored) and Redis of the benchmark. */
  mysqlServer: string;
  redisUrl: string;
  argv: string[];
}

/** `--name value`, or `--name=value` for a value that itself starts with `--` (`--node-options=--max-semi-space-size=8`). */
function value(args: string[], name: string): string | undefined {
  const joined = args.find((arg) => arg.startsWith(`--${name}=`));
  if (joined !== undefined) return joined.slice(name.length + 3);
  const index = args.indexOf(`--${name}`);
  if (index < 0) return undefined;
  const next = args[index + 1];
  if (next === undefined || next.startsWith('--')) throw new Error(`--${name} needs a value`);
  return next;
}

function positive(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const number = Number(text);
  if (!Number.isFinite(number) || number <= 0) throw new Error(`--${name} must be a positive number, not ${text}`);
  return number;
}

export function parseOptions(argv: string[]): Options {
  const known = new Set(['--quick', '--fresh', '--topology', '--runs', '--seconds', '--only', '--runtime', '--catalog-cache', '--node-options']);
  for (const arg of argv) {
    if (arg.startsWith('--') && !known.has(arg.split('=')[0]!)) throw new Error(`unknown option ${arg} (known: ${[...known].join(' ')})`);
  }
  const base = argv.includes('--quick') ? QUICK : FULL;
  const profile: Profile = {
    ...base,
    runs: positive(value(argv, 'runs'), 'runs') ?? base.runs,
    seconds: positive(value(argv, 'seconds'), 'seconds') ?? base.seconds,
  };
  const topology = value(argv, 'topology') ?? 'one';
  if (topology !== 'one' && topology !== 'split') throw new Error(`--topology must be one or split, not ${topology}`);
  const runtime = value(argv, 'runtime') ?? 'build';
  if (runtime !== 'build' && runtime !== 'tsx') throw new Error(`--runtime must be build or tsx, not ${runtime}`);
  const catalogCacheMb = value(argv, 'catalog-cache');
  if (catalogCacheMb !== undefined && !/^\d+$/.test(catalogCacheMb)) throw new Error(`--catalog-cache must be a whole number of megabytes, not ${catalogCacheMb}`);
  return {
    profile,
    catalogCacheMb,
    nodeOptions: value(argv, 'node-options'),
    topology,
    fresh: argv.includes('--fresh'),
    only: (value(argv, 'only') ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    runtime,
    mysqlServer: process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/',
    redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    argv,
  };
}

/** `mysql://user@host:port/<database>` on the benchmark's server. */
export function databaseUrl(server: string, database: string): string {
  const url = new URL(server);
  url.pathname = `/${database}`;
  return url.toString();
}
