import { getRequestListener } from '@hono/node-server';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { API_CONTENT_SECURITY_POLICY, SECURITY_HEADERS, createApp, type MountedModule } from './app.js';
import type { SessionResolver } from './auth-context.js';
import type { Config } from './config.js';
import { openDatabase, prepareSchema } from './database.js';
import { Services, internalRoutes } from './internal.js';
import { createLogger, type Logger } from './logger.js';
import { Metrics } from './metrics.js';
import type { BookstoreModule, ModuleContext, Stopper } from './module.js';
import { BullQueues, InProcessQueues, type JobQueues } from './queues.js';
import { MemoryRateLimiter, RedisRateLimiter } from './rate-limit.js';
import { createRedis, whenReady } from './redis.js';
import { Broadcast } from './broadcast.js';
import { SessionCache } from './session-cache.js';

export interface RunningStore {
  url: string;
  port: number;
  context: ModuleContext;
  close(): Promise<void>;
}

/**
 * Starts the modules named by the configuration in this process: database and schema, Redis, each
 * module's start-up work (admin account, demo catalog), then the HTTP server.
 */
export async function startStore(config: Config, modules: BookstoreModule[], logger: Logger = createLogger(config.logLevel)): Promise<RunningStore> {
  const running = modules.filter((m) => config.modules.includes(m.name));
  const lifecycle: Lifecycle = { draining: false };
  const db = await openDatabase(config, running, logger);
  let redis: Redis | undefined;
  let jobs: JobQueues | undefined;
  let sessions: SessionCache | undefined;
  try {
    if (config.migrate) await prepareSchema(db, config, running, logger);
    redis = config.redisUrl ? createRedis(config.redisUrl, 'request', logger, config.redisKeyPrefix) : undefined;
    if (redis && !(await whenReady(redis, 3000))) logger.warn('redis is not reachable yet; requests that need it answer 503 until it is');

    const services = new Services(config.serviceUrls, config.internalToken);
    const metrics = new Metrics(config.modules);
    const queues = config.redisUrl
      ? new BullQueues(config.redisUrl, `${config.redisKeyPrefix}bull`, logger, config.jobLockMs, config.shutdownTimeoutMs)
      : new InProcessQueues(logger);
    jobs = queues;
    sessions = sessionCacheFor(config, redis, logger);
    sessions?.listen();
    const context: ModuleContext = {
      config,
      logger,
      db,
      redis,
      rateLimiter: redis ? new RedisRateLimiter(redis) : new MemoryRateLimiter(),
      services,
      jobs: queues,
      metrics,
      sessions,
    };

    const mounted: MountedModule[] = running.map((module) => {
      const internal = module.internalApi?.(context);
      if (internal) services.provide(module.name, internal.api);
      return {
        name: module.name,
        description: module.description,
        routes: module.routes?.(context),
        internal: internal ? internalRoutes(internal.api, internal.operations, config.internalToken) : undefined,
      };
    });
    const stoppers: Stopper[] = [];
    for (const module of running) {
      const stop = await module.start?.(context);
      if (stop) stoppers.push(stop);
    }

    const app = createApp({
      config,
      logger,
      metrics,
      db,
      redis,
      modules: mounted,
      // A worker-only process has no auth module to ask: every caller there is anonymous.
      sessionCache: sessions,
      sessionResolver: () => (services.reachable('auth') ? services.api<SessionResolver>('auth', ['resolveSession']) : { resolveSession: async () => null }),
      draining: () => lifecycle.draining,
    });
    const server = await listen(app.fetch, config.port, lifecycle);
    const port = (server.address() as AddressInfo).port;
    logger.info({ port, modules: config.modules, database: config.database.kind }, 'bookstore listening');

    return {
      url: `http://127.0.0.1:${port}`,
      port,
      context,
      close: async () => {
        await drain(lifecycle, config.shutdownDrainMs, logger);
        await closeServer(server, config.shutdownTimeoutMs, logger);
        for (const stop of stoppers.reverse()) await stop();
        await queues.close();
        sessions?.stop();
        await redis?.quit().catch(() => redis?.disconnect());
        await db.close(true);
      },
    };
  } catch (error) {
    await jobs?.close();
    sessions?.stop();
    redis?.disconnect();
    await db.close(true);
    throw error;
  }
}

/**
 * Where a logout can reach it: every process that authenticates, when Redis carries logouts between
 * processes; without Redis only the process that runs auth itself (where every logout happens).
 */
function sessionCacheFor(config: Config, redis: Redis | undefined, logger: Logger): SessionCache | undefined {
  const authenticates = config.modules.includes('auth') || config.serviceUrls.auth !== undefined;
  if (!authenticates) return undefined;
  if (config.redisUrl) return new SessionCache(new Broadcast(config.redisUrl, redis, `${config.redisKeyPrefix}auth:session-ended`, logger));
  return config.modules.includes('auth') ? new SessionCache(undefined) : undefined;
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
    // The API reference page loads its script and styles; it is the one page without this policy.
    if (!request.url?.startsWith('/api/docs')) response.setHeader('Content-Security-Policy', API_CONTENT_SECURITY_POLICY);
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
