/**
 * How the store runs during the benchmark.
 *
 *  - `one`: one process with BOOKSTORE_MODULES=all (HTTP, and the payment and delivery workers on
 *    BullMQ), reached directly on its port.
 *  - `split`: auth, catalog, purchase, payment-worker and delivery-worker as separate processes on
 *    loopback ports (INTERNAL_TOKEN, AUTH_URL, CATALOG_URL), behind NGINX rendered from the
 *    project's template when nginx is installed (bench/nginx.ts); without nginx the load generator
 *    goes straight to each service's port, choosing it by the path prefix.
 *
 * For the order pipeline the payment workers are separate processes in both topologies (1 or 2 of
 * them): the `one` process then runs `auth,catalog,purchase,delivery-worker`.
 *
 * Every process runs the same environment: the benchmark's database and Redis key prefix,
 * LOG_LEVEL=warn, TRUST_PROXY=true, BOOKSTORE_MIGRATE=false (migrations are applied once before,
 * as the stack's one-shot migrate service does) and every simulated delay at 0, so that orders
 * placed by a scenario are paid and delivered while it runs rather than during the next one.
 */
import type { Dataset } from './dataset.js';
import { nginxInstalled, SERVER_NAME, startNginx, type Edge } from './nginx.js';
import type { Options, Topology } from './options.js';
import { freePort, imageRuntimeEnv, startServer, storeCommand, type ServerProcess, type Watched } from './processes.js';

export const INTERNAL_TOKEN = 'bookstore-bench-internal-token-0123456789';
type Module = 'auth' | 'catalog' | 'purchase';
const MODULE_OF_PREFIX: [string, Module][] = [['/api/auth/', 'auth'], ['/api/catalog/', 'catalog'], ['/api/purchase/', 'purchase']];

export function moduleOf(path: string): Module {
  const found = MODULE_OF_PREFIX.find(([prefix]) => path.startsWith(prefix));
  if (!found) throw new Error(`no module serves ${path}`);
  return found[1];
}

export interface Target {
  /** Origin (scheme, host, port) that serves a public path in this topology. */
  origin(path: string): string;
  /** TLS server name when the origin is NGINX. */
  servername?: string;
}

export interface StoreTopology extends Target {
  kind: Topology;
  edge: 'nginx' | 'none';
  /** One line on how requests reach the services. */
  description: string;
  /** The plain-HTTP URL of the process that runs a module (logins in `split`, the baseline's source). */
  direct(module: Module): string;
  processes: ServerProcess[];
  watched(): Watched[];
  stop(): Promise<void>;
}

export interface StoreEnv {
  options: Options;
  dataset: Dataset;
  redisPrefix: string;
}

/** The image's memory settings, or `--node-options` in their place. */
export function serviceRuntimeEnv(options: Options): Record<string, string> {
  const image = imageRuntimeEnv();
  return options.nodeOptions === undefined ? image : { ...image, NODE_OPTIONS: options.nodeOptions };
}

export function sharedEnv({ dataset, options, redisPrefix }: StoreEnv): Record<string, string> {
  return {
    DATABASE_URL: dataset.url,
    REDIS_URL: options.redisUrl,
    REDIS_KEY_PREFIX: redisPrefix,
    INTERNAL_TOKEN,
    LOG_LEVEL: 'warn',
    TRUST_PROXY: 'true',
    BOOKSTORE_MIGRATE: 'false',
    PAYMENT_DELAY_MS: '0',
    DELIVERY_SHIP_DELAY_MS: '0',
    DELIVERY_TRANSIT_DELAY_MS: '0',
    NODE_ENV: 'production',
    ...serviceRuntimeEnv(options),
    ...(options.catalogCacheMb !== undefined ? { CATALOG_CACHE_MB: options.catalogCacheMb } : {}),
  };
}

async function service(env: StoreEnv, name: string, modules: string, extra: Record<string, string> = {}, port?: number): Promise<ServerProcess> {
  port ??= await freePort();
  return startServer(name, storeCommand(env.options.runtime, 'kernel/main.ts'), { ...sharedEnv(env), BOOKSTORE_MODULES: modules, ...extra }, port);
}

async function stopAll(processes: ServerProcess[], edge?: Edge) {
  await edge?.stop();
  await Promise.all(processes.map((p) => p.stop()));
}

/**
 * Starts the store. `paymentWorkers` set (pipeline): that many separate payment-worker processes,
 * and none inside the other processes.
 */
export async function startStoreTopology(env: StoreEnv, paymentWorkers?: number): Promise<StoreTopology> {
  const kind = env.options.topology;
  const processes: ServerProcess[] = [];
  let edge: Edge | undefined;
  try {
    if (kind === 'one') {
      const main = await service(env, 'store', paymentWorkers ? 'auth,catalog,purchase,delivery-worker' : 'all');
      processes.push(main);
      for (let i = 1; i <= (paymentWorkers ?? 0); i++) processes.push(await service(env, `payment-worker.${i}`, 'payment-worker', { CATALOG_URL: main.url }));
      return {
        kind,
        edge: 'none',
        description: `one process (BOOKSTORE_MODULES=${paymentWorkers ? `auth,catalog,purchase,delivery-worker + ${paymentWorkers} payment-worker process(es)` : 'all'}), direct on its port`,
        origin: () => main.url,
        direct: () => main.url,
        processes,
        watched: () => processes.map((p) => ({ name: p.name, pids: () => [p.child.pid!] })),
        stop: () => stopAll(processes),
      };
    }

    // Ports first, so that every service can be given the others' URLs and all start at once.
    const ports = { auth: await freePort(), catalog: await freePort(), purchase: await freePort() };
    const urlOf = (module: Module) => `http://127.0.0.1:${ports[module]}`;
    const settled = await Promise.allSettled([
      service(env, 'auth', 'auth', {}, ports.auth),
      service(env, 'catalog', 'catalog', { AUTH_URL: urlOf('auth') }, ports.catalog),
      service(env, 'purchase', 'purchase', { AUTH_URL: urlOf('auth'), CATALOG_URL: urlOf('catalog') }, ports.purchase),
      ...Array.from({ length: paymentWorkers ?? 1 }, (_, i) => service(env, `payment-worker.${i + 1}`, 'payment-worker', { CATALOG_URL: urlOf('catalog') })),
      service(env, 'delivery-worker', 'delivery-worker'),
    ]);
    for (const result of settled) if (result.status === 'fulfilled') processes.push(result.value);
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    const [auth, catalog, purchase] = processes as [ServerProcess, ServerProcess, ServerProcess];
    const byModule: Record<Module, ServerProcess> = { auth, catalog, purchase };
    const address = (p: ServerProcess) => [`127.0.0.1:${p.port}`];
    if (nginxInstalled() && process.env.BENCH_NGINX !== 'off') {
      edge = await startNginx('nginx', { auth: address(auth), catalog: address(catalog), purchase: address(purchase) });
    }
    const url = edge?.url;
    return {
      kind,
      edge: edge ? 'nginx' : 'none',
      description: edge
        ? `split services behind NGINX (project template, HTTPS, ${paymentWorkers ?? 1} payment worker(s)); login scenarios go straight to the auth service (NGINX limits sign-in to 30/min per address)`
        : `split services, NO NGINX (nginx not installed, or BENCH_NGINX=off): the load generator picks each service's port by path prefix; ${paymentWorkers ?? 1} payment worker(s)`,
      origin: (path) => url ?? byModule[moduleOf(path)].url,
      servername: edge ? SERVER_NAME : undefined,
      direct: (module) => byModule[module].url,
      processes,
      watched: () => [...processes.map((p) => ({ name: p.name, pids: () => [p.child.pid!] })), ...(edge ? [edge.watched] : [])],
      stop: () => stopAll(processes, edge),
    };
  } catch (error) {
    await stopAll(processes, edge);
    throw error;
  }
}

export interface CeilingServer extends Target {
  processes: ServerProcess[];
  watched(): Watched[];
  stop(): Promise<void>;
}

/**
 * The bare baseline server (bench/baselines/bare-hono.ts), on the same port layout as the store:
 * direct in `one`, behind its own NGINX from the same template in `split`.
 */
export async function startCeilingServer(env: StoreEnv, store: StoreTopology, memoryPaths: string[]): Promise<CeilingServer> {
  const port = await freePort();
  const bare = await startServer('bare-hono', storeCommand(env.options.runtime, 'bench/baselines/bare-hono.ts'), {
    DATABASE_URL: env.dataset.url,
    SOURCE_URL: store.direct('catalog'),
    MEMORY_PATHS: JSON.stringify(memoryPaths),
    NODE_ENV: 'production',
  }, port);
  let edge: Edge | undefined;
  try {
    if (store.edge === 'nginx') {
      const address = [`127.0.0.1:${port}`];
      edge = await startNginx('nginx-ceiling', { auth: address, catalog: address, purchase: address });
    }
  } catch (error) {
    await bare.stop();
    throw error;
  }
  const url = edge?.url ?? bare.url;
  return {
    origin: () => url,
    servername: edge ? SERVER_NAME : undefined,
    processes: [bare],
    watched: () => [{ name: bare.name, pids: () => [bare.child.pid!] }, ...(edge ? [edge.watched] : [])],
    stop: () => stopAll([bare], edge),
  };
}
