import type { EntitySchema, MigrationObject } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/core';
import type { AbstractSqlDriver, EntityManager } from '@mikro-orm/knex';
import type { Hono } from 'hono';
import type { Redis } from 'ioredis';
import type { Config, ModuleName } from './config.js';
import type { InternalApi, Services } from './internal.js';
import type { Logger } from './logger.js';
import type { RateLimiter } from './rate-limit.js';
import type { AppEnv } from './app.js';
import type { Metrics } from './metrics.js';
import type { JobQueues } from './queues.js';
import type { SessionCache } from './session-cache.js';

export type Database = MikroORM<AbstractSqlDriver>;
export type { EntityManager };

export type Stopper = () => Promise<void>;

/** What the kernel hands every module. */
export interface ModuleContext {
  config: Config;
  logger: Logger;
  db: Database;
  /** A fail-fast Redis connection for request paths (keys prefixed), when `REDIS_URL` is set. */
  redis: Redis | undefined;
  rateLimiter: RateLimiter;
  services: Services;
  /** Background jobs: BullMQ with Redis, in-process without. */
  jobs: JobQueues;
  metrics: Metrics;
  /** Sessions resolved moments ago (kernel/session-cache.ts); the auth module reports logouts to it. Unset where it could not hear of them. */
  sessions: SessionCache | undefined;
}

/**
 * A domain module: its tables, its public routes under `/api/<name>`, its internal API for other
 * modules, and what it does when the process starts and stops.
 */
export interface BookstoreModule {
  name: ModuleName;
  /** Other modules this one calls; when they run elsewhere their URL must be configured. */
  needs?: readonly ModuleName[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each module's own entity types
  entities?: EntitySchema<any, any>[];
  migrations?: MigrationObject[];
  /** OpenAPI tag description for this module's routes. */
  description?: string;
  routes?(ctx: ModuleContext): Hono<AppEnv>;
  internalApi?(ctx: ModuleContext): { api: InternalApi; operations: readonly string[] };
  /** Start-up work; may return what to do at shutdown (stop timers, workers). */
  start?(ctx: ModuleContext): Promise<void | Stopper>;
}
