import type { EntitySchema, MigrationObject } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/core';
import type { AbstractSqlDriver, EntityManager } from '@mikro-orm/knex';
import type { Hono } from 'hono';
import type { Redis } from 'ioredis';
import type { AppEnv } from './app.js';
import type { Config, ConfigurableModule, ModuleName, ModuleSettings } from './config.js';
import type { InternalApi, InternalClients } from './internal.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { PublicApi } from './public-api.js';
import type { JobQueues, QueueOptions } from './queues.js';
import type { RateLimiter } from './rate-limit.js';
import type { SessionCache } from './session-cache.js';

export type Database = MikroORM<AbstractSqlDriver>;
export type { EntityManager };

export type Stopper = () => Promise<void>;

/** The process's shared plumbing, the same for every module it runs. */
export interface KernelContext {
  config: Config;
  logger: Logger;
  db: Database;
  /** A fail-fast Redis connection for request paths (keys prefixed), when `REDIS_URL` is set. */
  redis: Redis | undefined;
  rateLimiter: RateLimiter;
  /** The internal APIs of the other modules, here or behind their URL. */
  clients: InternalClients;
  /** The public API of every module, as a client would call it: in this process, or behind the module's URL. */
  publicApi: PublicApi;
  /** Background jobs: BullMQ with Redis, in-process without. */
  jobs: JobQueues;
  metrics: Metrics;
  /**
   * Sessions resolved moments ago (kernel/session-cache.ts); the module that provides sessions
   * reports ended ones to it. Unset where it could not hear of them.
   */
  sessions: SessionCache | undefined;
}

/** What the kernel hands a module's `setup`: the shared plumbing and the module's own settings. */
export interface ModuleContext<Settings = unknown> extends KernelContext {
  settings: Settings;
}

export interface InternalApiServed {
  api: InternalApi;
  operations: readonly string[];
}

/**
 * The capability of answering `resolveSession` for every other module (kernel/auth-context.ts): the
 * kernel asks the module that declares it, here or behind its URL.
 */
export interface SessionProvision {
  /** How a client gets a token, for the API reference: `POST /api/<module>/<route>`. */
  signIn: string;
}

/**
 * A module as its own folder declares it (see `defineModule`). Its life has two steps: `setup` builds
 * the module's instance (its caches, broadcasts, timers, settings) from the kernel's context, and
 * `routes`, `internalApi` and `start` receive that instance. `start` may answer how to stop it.
 */
export interface ModuleDefinition<Settings, Instance> {
  name: ModuleName;
  /** Other modules this one calls; when they run elsewhere their URL must be configured. */
  needs?: readonly ModuleName[];
  /** OpenAPI tag description for this module's routes. */
  description?: string;
  /** `any` on purpose: each module's schemas have their own entity types, which the kernel only hands to MikroORM. */
  entities?: EntitySchema<any, any>[];
  migrations?: MigrationObject[];
  /** The environment variables it reads (kernel/config.ts `defineSettings`). */
  settings?: ModuleSettings<Settings>;
  /** The problem codes its answers may carry besides the kernel's (kernel/problem.ts), for the API reference. */
  problems?: readonly string[];
  /** The job queues it uses, each with its retry policy; a queue two modules use is declared alike by both. */
  queues?: Readonly<Record<string, QueueOptions>>;
  sessions?: SessionProvision;
  setup(ctx: ModuleContext<NoInfer<Settings>>): Instance | Promise<Instance>;
  // NoInfer: the instance type is what `setup` answers, never what a route factory happens to accept.
  routes?(instance: NoInfer<Instance>): Hono<AppEnv>;
  /** Web pages for people, served from the site's root (`/`); the kernel's and the modules' API paths take precedence. */
  pages?(instance: NoInfer<Instance>): Hono<AppEnv>;
  internalApi?(instance: NoInfer<Instance>): InternalApiServed;
  /** Start-up work; may return what to do at shutdown (stop timers, workers). */
  start?(instance: NoInfer<Instance>): Promise<void | Stopper>;
  /**
   * Shutdown has drained (callers have stopped sending requests here) and the server now waits for
   * the requests still open: end the answers that stay open on purpose (event streams), so that
   * their clients reconnect elsewhere now instead of being cut at the shutdown deadline.
   */
  closing?(instance: NoInfer<Instance>): void;
}

/** A module set up in this process. */
export interface LoadedModule<Instance> {
  instance: Instance;
  routes: Hono<AppEnv> | undefined;
  pages: Hono<AppEnv> | undefined;
  internalApi: InternalApiServed | undefined;
  start(): Promise<void | Stopper>;
  closing(): void;
}

/** A domain module as the kernel sees it: what it declares, and how to set it up. */
export interface BookstoreModule<Instance = unknown> extends ConfigurableModule {
  readonly description: string | undefined;
  /** `any` on purpose, as in `ModuleDefinition`. */
  readonly entities: EntitySchema<any, any>[];
  readonly migrations: MigrationObject[] | undefined;
  readonly problems: readonly string[];
  readonly queues: Readonly<Record<string, QueueOptions>>;
  readonly sessions: SessionProvision | undefined;
  load(kernel: KernelContext): Promise<LoadedModule<Instance>>;
}

/** Declares a module; its instance type flows from `setup` to `routes`, `internalApi` and `start`. */
export function defineModule<Settings = unknown, Instance = unknown>(definition: ModuleDefinition<Settings, Instance>): BookstoreModule<Instance> {
  return {
    name: definition.name,
    needs: definition.needs ?? [],
    description: definition.description,
    entities: definition.entities ?? [],
    migrations: definition.migrations,
    settings: definition.settings,
    problems: definition.problems ?? [],
    queues: definition.queues ?? {},
    sessions: definition.sessions,
    servesInternalApi: definition.internalApi !== undefined,
    servesPublicApi: definition.routes !== undefined,
    async load(kernel) {
      // The kernel read these settings with this module's own declaration (kernel/config.ts).
      const settings = kernel.config.settings[definition.name] as Settings;
      const instance = await definition.setup({ ...kernel, settings });
      return {
        instance,
        routes: definition.routes?.(instance),
        pages: definition.pages?.(instance),
        internalApi: definition.internalApi?.(instance),
        start: async () => definition.start?.(instance),
        closing: () => definition.closing?.(instance),
      };
    },
  };
}
