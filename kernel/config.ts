import { readFileSync } from 'node:fs';
import * as v from 'valibot';

/** Every role a BookStore process can take; `all` expands to the ones this build provides. */
export const MODULE_NAMES = ['auth', 'catalog', 'purchase', 'payment-worker', 'delivery-worker'] as const;
export type ModuleName = (typeof MODULE_NAMES)[number];

/** Values never echoed in error messages. Every variable may also be given as `NAME_FILE` (Docker secrets). */
const SECRET_VARIABLES = ['DATABASE_URL', 'INTERNAL_TOKEN', 'REDIS_URL', 'BOOKSTORE_ADMIN_PASSWORD'];

function validTls(url: string): boolean {
  try {
    const ssl = new URL(url).searchParams.get('ssl');
    if (ssl === null || ssl === 'true') return true;
    const options: unknown = JSON.parse(ssl);
    return Boolean(options) && typeof options === 'object' && !Array.isArray(options);
  } catch {
    return false;
  }
}

const optionalText = v.optional(v.pipe(v.string(), v.trim(), v.transform((s) => (s === '' ? undefined : s))));

const milliseconds = (fallback: number) =>
  v.optional(
    v.pipe(v.string(), v.trim(), v.regex(/^\d+$/, 'must be a whole number of milliseconds'), v.transform(Number)),
    String(fallback),
  );

const booleanFlag = (fallback: boolean) =>
  v.optional(
    v.pipe(
      v.string(),
      v.trim(),
      v.toLowerCase(),
      v.picklist(['true', 'false', '1', '0', 'yes', 'no'], 'must be true or false'),
      v.transform((s) => s === 'true' || s === '1' || s === 'yes'),
    ),
    String(fallback),
  );

const internalUrl = v.optional(
  v.pipe(
    v.string(),
    v.trim(),
    v.url('must be a URL such as http://auth:3000'),
    v.transform((s) => s.replace(/\/+$/, '')),
  ),
);

const EnvSchema = v.object({
  BOOKSTORE_MODULES: v.optional(
    v.pipe(
      v.string(),
      v.transform((s) => s.split(',').map((part) => part.trim()).filter(Boolean)),
      v.minLength(1, 'must name at least one module'),
      v.array(
        v.picklist(['all', ...MODULE_NAMES], `each entry must be one of all, ${MODULE_NAMES.join(', ')}`),
      ),
    ),
    'all',
  ),
  PORT: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+$/, 'must be a port number'),
      v.transform(Number),
      v.maxValue(65535, 'must be a port number'),
    ),
    '3000',
  ),
  PUBLIC_URL: v.optional(
    v.pipe(
      v.string(),
      v.url('must be an origin such as https://books.example.com'),
      v.transform((s) => new URL(s).origin),
    ),
  ),
  DATABASE_URL: v.optional(
    v.pipe(
      v.string(),
      v.trim(),
      v.regex(/^(mysql|mariadb):\/\/.+|^sqlite:.+/, 'must be mysql://user:pass@host:port/db or sqlite:./path/file.db'),
      v.check((url) => !url.startsWith('m') || validTls(url), 'ssl must be true or a JSON object of TLS options, e.g. ?ssl={"rejectUnauthorized":true}'),
    ),
    'sqlite:./data/bookstore.db',
  ),
  AUTH_URL: internalUrl,
  CATALOG_URL: internalUrl,
  PURCHASE_URL: internalUrl,
  INTERNAL_TOKEN: v.optional(v.pipe(v.string(), v.trim(), v.minLength(16, 'must be at least 16 characters'))),
  REDIS_URL: v.optional(v.pipe(v.string(), v.trim(), v.regex(/^rediss?:\/\/.+/, 'must be redis://host:port'))),
  REDIS_KEY_PREFIX: v.optional(v.pipe(v.string(), v.regex(/^[\w:.-]{1,64}$/, 'must be 1-64 of [A-Za-z0-9_:.-]')), 'bookstore:'),
  BOOKSTORE_ADMIN_EMAIL: v.optional(v.pipe(v.string(), v.trim(), v.toLowerCase(), v.email('must be an email address'))),
  BOOKSTORE_ADMIN_PASSWORD: v.optional(v.pipe(v.string(), v.minLength(8, 'must be 8-128 characters'), v.maxLength(128, 'must be 8-128 characters'))),
  BOOKSTORE_SEED: v.optional(v.picklist(['demo', ''], 'must be demo or empty')),
  BOOKSTORE_MIGRATE: booleanFlag(true),
  PAYMENT_DELAY_MS: milliseconds(2000),
  DELIVERY_SHIP_DELAY_MS: milliseconds(5000),
  DELIVERY_TRANSIT_DELAY_MS: milliseconds(5000),
  SHUTDOWN_TIMEOUT_MS: milliseconds(10000),
  SHUTDOWN_DRAIN_MS: v.optional(
    v.pipe(v.string(), v.trim(), v.regex(/^\d+$/, 'must be a whole number of milliseconds, 0 to 120000'), v.transform(Number), v.maxValue(120_000, 'must be at most 120000 (2 minutes)')),
    '0',
  ),
  WORKER_CONCURRENCY: v.optional(
    v.pipe(v.string(), v.regex(/^\d+$/, 'must be a whole number from 1 to 100'), v.transform(Number), v.minValue(1, 'must be a whole number from 1 to 100'), v.maxValue(100, 'must be a whole number from 1 to 100')),
    '5',
  ),
  JOB_LOCK_MS: milliseconds(30000),
  CATALOG_CACHE_MB: v.optional(
    v.pipe(v.string(), v.regex(/^\d+$/, 'must be a whole number of megabytes, 0 to turn the cache off'), v.transform(Number), v.maxValue(4096, 'must be at most 4096')),
    '16',
  ),
  TRUST_PROXY: booleanFlag(false),
  LOG_LEVEL: v.optional(v.picklist(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'must be a pino level such as info'), 'info'),
});

export interface Config {
  modules: ModuleName[];
  port: number;
  publicUrl: string | undefined;
  database: { kind: 'mysql'; url: string } | { kind: 'sqlite'; file: string };
  serviceUrls: Partial<Record<'auth' | 'catalog' | 'purchase', string>>;
  internalToken: string | undefined;
  redisUrl: string | undefined;
  redisKeyPrefix: string;
  admin: { email: string; password: string } | undefined;
  seedDemo: boolean;
  migrate: boolean;
  delays: { paymentMs: number; shipMs: number; transitMs: number };
  shutdownTimeoutMs: number;
  /**
   * After SIGTERM, how long the process keeps answering as usual (readiness says 503, answers close
   * their connection) before it stops accepting: callers that still hold its address stop using it.
   */
  shutdownDrainMs: number;
  /** Jobs one worker process runs at once, per queue. */
  workerConcurrency: number;
  /** How long a job stays claimed without a heartbeat before another worker takes it over. */
  jobLockMs: number;
  /** Memory for catalog answers kept between catalog changes; 0 turns the cache off. */
  catalogCacheBytes: number;
  trustProxy: boolean;
  logLevel: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Replaces every `NAME_FILE` with the file's content as `NAME`, so secrets never sit in the environment. */
function readFileVariables(env: Record<string, string | undefined>, problems: string[]) {
  const resolved: Record<string, string | undefined> = { ...env };
  for (const name of Object.keys(EnvSchema.entries)) {
    const key = `${name}_FILE`;
    const path = env[key];
    if (!path) continue;
    if (env[name] !== undefined && env[name] !== '') {
      problems.push(`${name}: set both ${name} and ${key}; use only one`);
      continue;
    }
    try {
      resolved[name] = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      problems.push(`${key}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return resolved;
}

function databaseFrom(url: string): Config['database'] {
  if (url.startsWith('sqlite:')) return { kind: 'sqlite', file: url.slice('sqlite:'.length) };
  return { kind: 'mysql', url: url.replace(/^mariadb:/, 'mysql:') };
}

/**
 * Reads and checks the whole configuration at once, so an operator sees every problem in one go.
 * `available` lists the modules this build provides; `needs` says which other modules each one calls.
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  available: readonly ModuleName[],
  needs: Partial<Record<ModuleName, readonly ModuleName[]>> = {},
): Config {
  const problems: string[] = [];
  const resolved = readFileVariables(env, problems);
  const input = Object.fromEntries(
    Object.keys(EnvSchema.entries).flatMap((key) => {
      const value = resolved[key];
      return value === undefined || value === '' ? [] : [[key, value]];
    }),
  );
  const parsed = v.safeParse(EnvSchema, input);
  if (!parsed.success) {
    for (const issue of parsed.issues) {
      const key = v.getDotPath(issue)?.split('.')[0] ?? 'configuration';
      const value = SECRET_VARIABLES.includes(key) ? '' : ` (got ${JSON.stringify(input[key])})`;
      problems.push(`${key}: ${issue.message}${value}`);
    }
    throw new ConfigError(problems);
  }
  const e = parsed.output;

  const requested = e.BOOKSTORE_MODULES.includes('all') ? [...available] : (e.BOOKSTORE_MODULES as ModuleName[]);
  const modules = MODULE_NAMES.filter((name) => requested.includes(name));
  for (const name of modules) {
    if (!available.includes(name)) problems.push(`BOOKSTORE_MODULES: module ${name} is not part of this build (available: ${available.join(', ')})`);
  }

  const serviceUrls: Config['serviceUrls'] = {};
  if (e.AUTH_URL) serviceUrls.auth = e.AUTH_URL;
  if (e.CATALOG_URL) serviceUrls.catalog = e.CATALOG_URL;
  if (e.PURCHASE_URL) serviceUrls.purchase = e.PURCHASE_URL;

  for (const name of modules) {
    for (const needed of needs[name] ?? []) {
      if (modules.includes(needed)) continue;
      const key = `${needed.toUpperCase()}_URL`;
      if (!serviceUrls[needed as keyof Config['serviceUrls']]) {
        problems.push(`${key}: required, because module ${name} calls module ${needed}, which this process does not run`);
      }
    }
  }
  if (Object.keys(serviceUrls).length > 0 && !e.INTERNAL_TOKEN) {
    problems.push('INTERNAL_TOKEN: required when AUTH_URL, CATALOG_URL or PURCHASE_URL is set');
  }
  if (Boolean(e.BOOKSTORE_ADMIN_EMAIL) !== Boolean(e.BOOKSTORE_ADMIN_PASSWORD)) {
    problems.push('BOOKSTORE_ADMIN_EMAIL and BOOKSTORE_ADMIN_PASSWORD: set both or neither');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    modules,
    port: e.PORT,
    publicUrl: e.PUBLIC_URL,
    database: databaseFrom(e.DATABASE_URL),
    serviceUrls,
    internalToken: e.INTERNAL_TOKEN,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    admin:
      e.BOOKSTORE_ADMIN_EMAIL && e.BOOKSTORE_ADMIN_PASSWORD
        ? { email: e.BOOKSTORE_ADMIN_EMAIL, password: e.BOOKSTORE_ADMIN_PASSWORD }
        : undefined,
    seedDemo: e.BOOKSTORE_SEED === 'demo',
    migrate: e.BOOKSTORE_MIGRATE,
    delays: { paymentMs: e.PAYMENT_DELAY_MS, shipMs: e.DELIVERY_SHIP_DELAY_MS, transitMs: e.DELIVERY_TRANSIT_DELAY_MS },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
    workerConcurrency: e.WORKER_CONCURRENCY,
    jobLockMs: e.JOB_LOCK_MS,
    catalogCacheBytes: e.CATALOG_CACHE_MB * 1024 * 1024,
    trustProxy: e.TRUST_PROXY,
    logLevel: e.LOG_LEVEL,
  };
}
