import { getRequestListener } from '@hono/node-server';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { API_CONTENT_SECURITY_POLICY, SECURITY_HEADERS, createApp, type MountedModule } from './app.js';
import type { SessionResolver } from './auth-context.js';
import type { Config } from './config.js';
import { openDatabase, prepareSchema } from './database.js';
import { InternalClients, internalRoutes } from './internal.js';
import { createLogger, type Logger } from './logger.js';
import { Metrics } from './metrics.js';
import type { BookstoreModule, Database, KernelContext, LoadedModule } from './module.js';
import { KERNEL_PROBLEM_CODES } from './problem.js';
import { BullQueues, InProcessQueues, registerQueueMetrics, type JobQueues, type RetryPolicies } from './queues.js';
import { PublicApi } from './public-api.js';
import { MemoryRateLimiter, RedisRateLimiter } from './rate-limit.js';
import { createRedis, whenReady } from './redis.js';
import { Broadcast } from './broadcast.js';
import { SessionCache } from './session-cache.js';

export interface RunningStore {
  url: string;
  port: number;
  context: KernelContext;
  /** Whether any module here serves public routes (a worker-only process serves none). */
  servesApi: boolean;
  /** The instance that a module's `setup` built in this process. */
  instanceOf<Instance>(module: BookstoreModule<Instance>): Instance;
  close(): Promise<void>;
}

/** Everything the store opened, closed last first: at shutdown, or when start-up fails half-way. */
class Opened {
  private readonly closers: ((aborting: boolean) => unknown)[] = [];

  add(close: (aborting: boolean) => unknown) {
    this.closers.push(close);
  }

  async close(aborting: boolean) {
    for (const close of this.closers.reverse()) await close(aborting);
    this.closers.length = 0;
  }
}

/**
 * Starts the modules named by the configuration in this process. `modules` is every module of the
 * build (the registry): the ones running elsewhere still say where sessions come from and which
 * problem codes an answer may carry.
 */
export async function startStore(config: Config, modules: BookstoreModule[], logger: Logger = createLogger(config.logLevel)): Promise<RunningStore> {
  const running = modules.filter((m) => config.modules.includes(m.name));
  const opened = new Opened();
  try {
    const db = await openSchema(config, running, logger, opened);
    const redis = await connectRedis(config, logger, opened);
    const context = kernelContext(config, logger, db, redis, modules, opened);
    const loaded = await loadModules(running, context);
    const queues = queuesOf(running);
    if (queues.length > 0) registerQueueMetrics(context.metrics.registry, context.jobs, queues);
    await startModules(loaded, opened);
    const lifecycle: Lifecycle = { draining: false };
    const server = await serve(config, context, modules, loaded, lifecycle);
    return runningStore(config, context, loaded, server, lifecycle, opened);
  } catch (error) {
    await opened.close(true);
    throw error;
  }
}

async function openSchema(config: Config, running: BookstoreModule[], logger: Logger, opened: Opened): Promise<Database> {
  const db = await openDatabase(config, running, logger);
  opened.add(() => db.close(true));
  if (config.migrate) await prepareSchema(db, config, running, logger);
  return db;
}

async function connectRedis(config: Config, logger: Logger, opened: Opened): Promise<Redis | undefined> {
  if (!config.redisUrl) return undefined;
  const redis = createRedis(config.redisUrl, 'request', logger, config.redisKeyPrefix);
  opened.add((aborting) => (aborting ? redis.disconnect() : redis.quit().catch(() => redis.disconnect())));
  if (!(await whenReady(redis, 3000))) logger.warn('redis is not reachable yet; requests that need it answer 503 until it is');
  return redis;
}

/** The plumbing every module of this process shares. */
function kernelContext(config: Config, logger: Logger, db: Database, redis: Redis | undefined, modules: BookstoreModule[], opened: Opened): KernelContext {
  const sessions = sessionCacheFor(config, redis, logger, sessionProvider(modules));
  sessions?.listen();
  opened.add(() => sessions?.stop());
  const jobs = jobQueues(config, logger, retryPolicies(modules));
  opened.add(() => jobs.close());
  return {
    config,
    logger,
    db,
    redis,
    rateLimiter: redis ? new RedisRateLimiter(redis) : new MemoryRateLimiter(),
    clients: new InternalClients(config.serviceUrls, config.internalToken),
    publicApi: new PublicApi(config),
    jobs,
    metrics: new Metrics(config.modules),
    sessions,
  };
}

function jobQueues(config: Config, logger: Logger, policies: RetryPolicies): JobQueues {
  if (!config.redisUrl) return new InProcessQueues(logger, policies);
  return new BullQueues(config.redisUrl, `${config.redisKeyPrefix}bull`, logger, config.jobLockMs, config.shutdownTimeoutMs, policies);
}

/** Each queue's retry policy, from the modules that declare it; two modules sharing a queue must declare it alike. */
function retryPolicies(modules: BookstoreModule[]): RetryPolicies {
  const policies: Record<string, RetryPolicies[string]> = {};
  for (const module of modules) {
    for (const [queue, policy] of Object.entries(module.queues)) {
      const known = policies[queue];
      if (known && (known.attempts !== policy.attempts || known.backoffMs !== policy.backoffMs)) {
        throw new Error(`queue ${queue} is declared twice with different retry policies (module ${module.name})`);
      }
      policies[queue] = policy;
    }
  }
  return policies;
}

function queuesOf(modules: BookstoreModule[]): string[] {
  return [...new Set(modules.flatMap((m) => Object.keys(m.queues)))];
}

/** The module whose internal API resolves sessions for every other one, wherever it runs. */
function sessionProvider(modules: BookstoreModule[]): BookstoreModule | undefined {
  return modules.find((m) => m.sessions);
}

/** Sets every running module up, and offers each internal API to the other modules of this process. */
async function loadModules(running: BookstoreModule[], context: KernelContext): Promise<Map<BookstoreModule, LoadedModule<unknown>>> {
  const loaded = new Map<BookstoreModule, LoadedModule<unknown>>();
  for (const module of running) {
    const one = await module.load(context);
    if (one.internalApi) context.clients.provide(module.name, one.internalApi.api);
    loaded.set(module, one);
  }
  return loaded;
}

async function startModules(loaded: Map<BookstoreModule, LoadedModule<unknown>>, opened: Opened) {
  for (const one of loaded.values()) {
    const stop = await one.start();
    if (stop) opened.add(stop);
  }
}

/** The HTTP app of the running modules, listening. */
async function serve(config: Config, context: KernelContext, modules: BookstoreModule[], loaded: Map<BookstoreModule, LoadedModule<unknown>>, lifecycle: Lifecycle): Promise<Server> {
  const provider = sessionProvider(modules);
  const app = createApp({
    config,
    logger: context.logger,
    metrics: context.metrics,
    db: context.db,
    redis: context.redis,
    modules: mountable(config, loaded),
    problemCodes: problemCodes(modules),
    signIn: provider?.sessions?.signIn,
    sessionCache: context.sessions,
    sessionResolver: () => sessionResolver(context.clients, provider),
    draining: () => lifecycle.draining,
  });
  context.publicApi.serveFrom(app.fetch);
  const server = await listen(app.fetch, config.port, lifecycle);
  const port = (server.address() as AddressInfo).port;
  context.logger.info({ port, modules: config.modules, database: config.database.kind }, 'bookstore listening');
  return server;
}

function mountable(config: Config, loaded: Map<BookstoreModule, LoadedModule<unknown>>): MountedModule[] {
  return [...loaded].map(([module, one]) => ({
    name: module.name,
    description: module.description,
    routes: one.routes,
    pages: one.pages,
    internal: one.internalApi ? internalRoutes(one.internalApi.api, one.internalApi.operations, config.internalToken) : undefined,
  }));
}

/** Every code an answer may carry: the kernel's, and each module's, wherever it runs (a call to it may pass one on). */
function problemCodes(modules: BookstoreModule[]): string[] {
  return [...new Set([...KERNEL_PROBLEM_CODES, ...modules.flatMap((m) => m.problems)])];
}

/** Where no module that provides sessions can be reached (a worker-only process), every caller is anonymous. */
function sessionResolver(clients: InternalClients, provider: BookstoreModule | undefined): SessionResolver {
  if (!provider || !clients.reachable(provider.name)) return { resolveSession: async () => null };
  return clients.api<SessionResolver>(provider.name, ['resolveSession']);
}

function runningStore(config: Config, context: KernelContext, loaded: Map<BookstoreModule, LoadedModule<unknown>>, server: Server, lifecycle: Lifecycle, opened: Opened): RunningStore {
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    context,
    servesApi: [...loaded.values()].some((one) => one.routes !== undefined || one.pages !== undefined),
    instanceOf<Instance>(module: BookstoreModule<Instance>): Instance {
      const one = loaded.get(module);
      if (!one) throw new Error(`module ${module.name} does not run in this process`);
      // Set up by this very module, whose `load` answers its own instance type.
      return one.instance as Instance;
    },
    close: async () => {
      await drain(lifecycle, config.shutdownDrainMs, context.logger);
      for (const one of loaded.values()) one.closing();
      await closeServer(server, config.shutdownTimeoutMs, context.logger);
      await opened.close(false);
    },
  };
}

/**
 * Where an ended session must be heard of: every process that authenticates, when Redis carries the
 * news between processes; without Redis only the process that provides sessions itself (where every
 * session ends).
 */
function sessionCacheFor(config: Config, redis: Redis | undefined, logger: Logger, provider: BookstoreModule | undefined): SessionCache | undefined {
  if (!provider) return undefined;
  const here = config.modules.includes(provider.name);
  if (!here && config.serviceUrls[provider.name] === undefined) return undefined;
  if (config.redisUrl) return new SessionCache(new Broadcast(config.redisUrl, redis, `${config.redisKeyPrefix}${provider.name}:session-ended`, logger));
  return here ? new SessionCache(undefined) : undefined;
}

interface Lifecycle {
  draining: boolean;
}

/**
 * Keeps answering for `drainMs` while callers forget this process: Swarm has taken its address out
 * of DNS, but NGINX may still use a cached answer and other services hold keep-alive connections
 * to it. Meanwhile readiness says 503 and every answer closes its connection, so each caller's next
 * request opens a new one to a task that stays. A drain longer than Node's 5 s keep-alive timeout
 * also leaves no idle connection for the close that follows to cut under a caller's request.
 */
async function drain(lifecycle: Lifecycle, drainMs: number, logger: Logger): Promise<void> {
  lifecycle.draining = true;
  if (drainMs === 0) return;
  logger.info({ drainMs }, 'draining: answering as usual until callers stop sending requests here');
  await new Promise((done) => setTimeout(done, drainMs));
}

function listen(fetch: (request: Request) => Response | Promise<Response>, port: number, lifecycle: Lifecycle): Promise<Server> {
  const respond = getRequestListener(fetch);
  const server = createServer((request, response) => {
    for (const [name, value] of SECURITY_HEADERS) response.setHeader(name, value);
    if (lifecycle.draining) response.setHeader('Connection', 'close');
    // A page with a UI (the API reference, the queue dashboard) sends its own policy, which wins.
    response.setHeader('Content-Security-Policy', API_CONTENT_SECURITY_POLICY);
    void respond(request, response);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve(server));
  });
}

/** Stops accepting, lets in-flight requests finish, and cuts whatever is still open at the deadline. */
function closeServer(server: Server, deadlineMs: number, logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      logger.warn({ deadlineMs }, 'shutdown deadline reached; closing remaining connections');
      server.closeAllConnections();
    }, deadlineMs);
    timer.unref();
    // Keep-alive connections turn idle as their last responses go out: close each as it does.
    const sweeper = setInterval(() => server.closeIdleConnections(), 50);
    server.close(() => {
      clearTimeout(timer);
      clearInterval(sweeper);
      resolve();
    });
    server.closeIdleConnections();
  });
}
