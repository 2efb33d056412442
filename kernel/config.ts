import { readFileSync } from 'node:fs';
import * as v from 'valibot';

/** A module's name as `BOOKSTORE_MODULES` spells it; checked against the registry when the configuration is read. */
export type ModuleName = string;

/** The variable that holds the internal base URL of a module running elsewhere: `my-module` → `MY_MODULE_URL`. */
export const urlVariable = (module: ModuleName) => `${module.toUpperCase().replaceAll('-', '_')}_URL`;

// Rules shared by the kernel's variables and the modules' own ones.

export const milliseconds = (fallback: number) =>
  v.optional(
    v.pipe(v.string(), v.trim(), v.regex(/^\d+$/, 'must be a whole number of milliseconds'), v.transform(Number)),
    String(fallback),
  );

export const booleanFlag = (fallback: boolean) =>
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

/** A whole number from `min` to `max`, with one message for every way of missing it. */
export const wholeNumber = (min: number, max: number, fallback: number, message = `must be a whole number from ${min} to ${max}`) =>
  v.optional(
    v.pipe(v.string(), v.trim(), v.regex(/^\d+$/, message), v.transform(Number), v.minValue(min, message), v.maxValue(max, message)),
    String(fallback),
  );

const internalUrl = v.optional(
  v.pipe(
    v.string(),
    v.trim(),
    v.url('must be a URL such as http://service:3000'),
    v.transform((s) => s.replace(/\/+$/, '')),
  ),
);

/** One valibot schema per environment variable, keyed by the variable's name; each reads a string, or nothing. */
export type Variables = v.ObjectEntries;
type ValuesOf<E extends Variables> = v.InferOutput<v.ObjectSchema<E, undefined>>;

/**
 * The environment variables a module reads, declared by the module: the kernel checks them with its
 * own, all at once, and hands the module what `read` makes of them.
 */
export interface ModuleSettings<Settings> {
  readonly variables: Variables;
  /** Variables whose values never appear in an error message. */
  readonly secrets: readonly string[];
  /** Problems between variables (one line each) and the settings the module works with. */
  read(values: Record<string, unknown>): { problems: string[]; settings: Settings };
}

/** The settings a module's declaration reads into. */
export type SettingsOf<S> = S extends ModuleSettings<infer Settings> ? Settings : never;

export function defineSettings<const E extends Variables, Settings>(
  variables: E,
  read: (values: ValuesOf<E>) => Settings,
  options: { secrets?: readonly (keyof E & string)[]; check?: (values: ValuesOf<E>) => string[] } = {},
): ModuleSettings<Settings> {
  return {
    variables,
    secrets: options.secrets ?? [],
    read(values) {
      // The kernel parsed these values with exactly these variables' schemas.
      const typed = values as ValuesOf<E>;
      return { problems: options.check?.(typed) ?? [], settings: read(typed) };
    },
  };
}

/** What reading the configuration needs to know of a module: no more than the registry declares. */
export interface ConfigurableModule {
  readonly name: ModuleName;
  /** Other modules this one calls; when they run elsewhere their URL must be configured. */
  readonly needs: readonly ModuleName[];
  readonly settings: ModuleSettings<unknown> | undefined;
  /** It serves an internal API, so it may run in another process, behind `<NAME>_URL`. */
  readonly servesInternalApi: boolean;
  /** It serves public routes, which another process may call behind `<NAME>_URL` too (kernel/public-api.ts). */
  readonly servesPublicApi: boolean;
}

/** Values never echoed in error messages. */
const KERNEL_SECRETS = ['DATABASE_URL', 'INTERNAL_TOKEN', 'REDIS_URL'];

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

/** The kernel's own variables; `available` are the module names `BOOKSTORE_MODULES` may list. */
function kernelVariables(available: readonly ModuleName[]) {
  return {
    BOOKSTORE_MODULES: v.optional(
      v.pipe(
        v.string(),
        v.transform((s) => s.split(',').map((part) => part.trim()).filter(Boolean)),
        v.minLength(1, 'must name at least one module'),
        v.array(v.picklist(['all', ...available], `each entry must be one of all, ${available.join(', ')}`)),
      ),
      'all',
    ),
    PORT: v.optional(
      v.pipe(v.string(), v.regex(/^\d+$/, 'must be a port number'), v.transform(Number), v.maxValue(65535, 'must be a port number')),
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
    INTERNAL_TOKEN: v.optional(v.pipe(v.string(), v.trim(), v.minLength(16, 'must be at least 16 characters'))),
    REDIS_URL: v.optional(v.pipe(v.string(), v.trim(), v.regex(/^rediss?:\/\/.+/, 'must be redis://host:port'))),
    REDIS_KEY_PREFIX: v.optional(v.pipe(v.string(), v.regex(/^[\w:.-]{1,64}$/, 'must be 1-64 of [A-Za-z0-9_:.-]')), 'bookstore:'),
    BOOKSTORE_MIGRATE: booleanFlag(true),
    SHUTDOWN_TIMEOUT_MS: milliseconds(10000),
    SHUTDOWN_DRAIN_MS: v.optional(
      v.pipe(v.string(), v.trim(), v.regex(/^\d+$/, 'must be a whole number of milliseconds, 0 to 120000'), v.transform(Number), v.maxValue(120_000, 'must be at most 120000 (2 minutes)')),
      '0',
    ),
    WORKER_CONCURRENCY: wholeNumber(1, 100, 5),
    JOB_LOCK_MS: milliseconds(30000),
    TRUST_PROXY: booleanFlag(false),
    LOG_LEVEL: v.optional(v.picklist(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'must be a pino level such as info'), 'info'),
  };
}

export interface Config {
  modules: ModuleName[];
  port: number;
  publicUrl: string | undefined;
  database: { kind: 'mysql'; url: string } | { kind: 'sqlite'; file: string };
  /** The internal base URL of each module that runs in another process, from its `<NAME>_URL`. */
  serviceUrls: Partial<Record<ModuleName, string>>;
  internalToken: string | undefined;
  redisUrl: string | undefined;
  redisKeyPrefix: string;
  migrate: boolean;
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
  trustProxy: boolean;
  logLevel: string;
  /** Each module's own settings, read from the variables it declares, by module name. */
  settings: Partial<Record<ModuleName, unknown>>;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Every variable the modules declare, and their internal URLs; a variable two modules declare must be the same rule. */
function moduleVariables(modules: readonly ConfigurableModule[]): { variables: Variables; secrets: string[] } {
  const variables: Variables = {};
  const secrets: string[] = [];
  for (const module of modules) {
    if (module.servesInternalApi || module.servesPublicApi) variables[urlVariable(module.name)] = internalUrl;
    for (const [name, schema] of Object.entries(module.settings?.variables ?? {})) {
      if (variables[name] && variables[name] !== schema) throw new Error(`${name} is declared twice, with different rules (module ${module.name})`);
      variables[name] = schema;
    }
    secrets.push(...(module.settings?.secrets ?? []));
  }
  return { variables, secrets };
}

/** Every variable the configuration reads, kernel's and modules', for documentation and its checks. */
export function variableNames(modules: readonly ConfigurableModule[]): string[] {
  return [...Object.keys(kernelVariables([])), ...Object.keys(moduleVariables(modules).variables)];
}

/** Replaces every `NAME_FILE` with the file's content as `NAME`, so secrets never sit in the environment. */
function readFileVariables(env: Record<string, string | undefined>, names: string[], problems: string[]) {
  const resolved: Record<string, string | undefined> = { ...env };
  for (const name of names) {
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

/** The given variables among `names`; an empty one counts as unset. */
function presentValues(resolved: Record<string, string | undefined>, names: string[]): Record<string, string> {
  return Object.fromEntries(
    names.flatMap((name) => {
      const value = resolved[name];
      return value === undefined || value === '' ? [] : [[name, value]];
    }),
  );
}

/** Parses the values with the schema; each issue becomes one line, naming the variable and never a secret's value. */
function parseVariables<S extends v.GenericSchema>(schema: S, input: Record<string, string>, secrets: readonly string[], problems: string[]): v.InferOutput<S> | undefined {
  const parsed = v.safeParse(schema, input);
  if (parsed.success) return parsed.output;
  for (const issue of parsed.issues) {
    const key = v.getDotPath(issue)?.split('.')[0] ?? 'configuration';
    const value = secrets.includes(key) ? '' : ` (got ${JSON.stringify(input[key])})`;
    problems.push(`${key}: ${issue.message}${value}`);
  }
  return undefined;
}

function databaseFrom(url: string): Config['database'] {
  if (url.startsWith('sqlite:')) return { kind: 'sqlite', file: url.slice('sqlite:'.length) };
  return { kind: 'mysql', url: url.replace(/^mariadb:/, 'mysql:') };
}

/** The modules this process runs, as the registry lists them. */
function selectModules(requested: string[], modules: readonly ConfigurableModule[]): ModuleName[] {
  const names = modules.map((m) => m.name);
  return requested.includes('all') ? names : names.filter((name) => requested.includes(name));
}

/** The URL of every module that serves an API and is configured to run elsewhere. */
function serviceUrlsFrom(values: Record<string, unknown>, modules: readonly ConfigurableModule[]): Config['serviceUrls'] {
  const urls: Config['serviceUrls'] = {};
  for (const module of modules) {
    const url = values[urlVariable(module.name)];
    if ((module.servesInternalApi || module.servesPublicApi) && typeof url === 'string') urls[module.name] = url;
  }
  return urls;
}

/** Each module that calls one this process does not run needs that module's URL, and the URLs need the token. */
function connectionProblems(running: ModuleName[], modules: readonly ConfigurableModule[], urls: Config['serviceUrls'], token: string | undefined): string[] {
  const problems: string[] = [];
  for (const module of modules.filter((m) => running.includes(m.name))) {
    for (const needed of module.needs) {
      if (running.includes(needed) || urls[needed]) continue;
      problems.push(`${urlVariable(needed)}: required, because module ${module.name} calls module ${needed}, which this process does not run`);
    }
  }
  const internal = modules.filter((m) => m.servesInternalApi);
  if (internal.some((m) => urls[m.name]) && !token) {
    const names = internal.map((m) => urlVariable(m.name));
    problems.push(`INTERNAL_TOKEN: required when ${names.join(' or ')} is set`);
  }
  return problems;
}

/** Each module's settings, read from its own variables, with the problems between them. */
function moduleSettings(values: Record<string, unknown>, modules: readonly ConfigurableModule[], problems: string[]): Config['settings'] {
  const settings: Config['settings'] = {};
  for (const module of modules) {
    if (!module.settings) continue;
    const own = Object.fromEntries(Object.keys(module.settings.variables).map((name) => [name, values[name]]));
    const read = module.settings.read(own);
    for (const problem of read.problems) if (!problems.includes(problem)) problems.push(problem);
    settings[module.name] = read.settings;
  }
  return settings;
}

/**
 * Reads and checks the whole configuration at once, the kernel's variables and every module's, so an
 * operator sees every problem in one go. `modules` are the modules this build provides (the registry).
 */
export function loadConfig(env: Record<string, string | undefined>, modules: readonly ConfigurableModule[]): Config {
  const problems: string[] = [];
  const kernel = kernelVariables(modules.map((m) => m.name));
  const own = moduleVariables(modules);
  const names = [...Object.keys(kernel), ...Object.keys(own.variables)];
  const input = presentValues(readFileVariables(env, names, problems), names);
  const k = parseVariables(v.object(kernel), input, KERNEL_SECRETS, problems);
  const values = parseVariables(v.object(own.variables), input, own.secrets, problems);
  if (!k || !values) throw new ConfigError(problems);

  const running = selectModules(k.BOOKSTORE_MODULES, modules);
  const serviceUrls = serviceUrlsFrom(values, modules);
  problems.push(...connectionProblems(running, modules, serviceUrls, k.INTERNAL_TOKEN));
  const settings = moduleSettings(values, modules, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    modules: running,
    port: k.PORT,
    publicUrl: k.PUBLIC_URL,
    database: databaseFrom(k.DATABASE_URL),
    serviceUrls,
    internalToken: k.INTERNAL_TOKEN,
    redisUrl: k.REDIS_URL,
    redisKeyPrefix: k.REDIS_KEY_PREFIX,
    migrate: k.BOOKSTORE_MIGRATE,
    shutdownTimeoutMs: k.SHUTDOWN_TIMEOUT_MS,
    shutdownDrainMs: k.SHUTDOWN_DRAIN_MS,
    workerConcurrency: k.WORKER_CONCURRENCY,
    jobLockMs: k.JOB_LOCK_MS,
    trustProxy: k.TRUST_PROXY,
    logLevel: k.LOG_LEVEL,
    settings,
  };
}
