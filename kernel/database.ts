import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { MikroORM, type Options } from '@mikro-orm/core';
import type { AbstractSqlDriver } from '@mikro-orm/knex';
import { Migrator } from '@mikro-orm/migrations';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import type { BookstoreModule, Database } from './module.js';

export const migrationsTable = (module: string) => `bookstore_migrations_${module.replaceAll('-', '_')}`;

/**
 * `?ssl=…` on a MySQL URL asks for TLS to the database: a JSON object of Node TLS options, e.g.
 * `{"rejectUnauthorized":true}` (trust the server's CA with NODE_EXTRA_CA_CERTS), or `true` for the
 * same. MikroORM reads only the URL's host, credentials and database, so it is handed to mysql2 here.
 */
export function mysqlTls(url: string): { clientUrl: string; ssl?: Record<string, unknown> } {
  const parsed = new URL(url);
  const ssl = parsed.searchParams.get('ssl');
  parsed.search = '';
  const clientUrl = parsed.toString();
  if (ssl === null) return { clientUrl };
  if (ssl === 'true') return { clientUrl, ssl: { rejectUnauthorized: true } };
  const options: unknown = JSON.parse(ssl);
  if (!options || typeof options !== 'object' || Array.isArray(options)) throw new Error('DATABASE_URL: ssl must be true or a JSON object');
  return { clientUrl, ssl: options as Record<string, unknown> };
}

async function driverOptions(database: Config['database']): Promise<Options<AbstractSqlDriver>> {
  if (database.kind === 'mysql') {
    const { MySqlDriver } = await import('@mikro-orm/mysql');
    const { clientUrl, ssl } = mysqlTls(database.url);
    return {
      driver: MySqlDriver,
      clientUrl,
      pool: { min: 1, max: 10 },
      driverOptions: { connection: { timezone: 'Z', connectTimeout: 5000, ...(ssl ? { ssl } : {}) } },
    };
  }
  // Binds values as parameters: MikroORM's own driver writes them into the SQL text (see sqlite-driver.ts).
  const { BoundSqliteDriver } = await import('./sqlite-driver.js');
  if (database.file !== ':memory:') mkdirSync(dirname(database.file), { recursive: true });
  return { driver: BoundSqliteDriver, dbName: database.file };
}

/** Opens the database with the entities of the modules this process runs, and no others. */
export async function openDatabase(config: Config, modules: BookstoreModule[], logger: Logger): Promise<Database> {
  const db = await MikroORM.init<AbstractSqlDriver>({
    ...(await driverOptions(config.database)),
    entities: [...new Set(modules.flatMap((m) => m.entities ?? []))],
    discovery: { warnWhenNoEntities: false },
    forceUtcTimezone: true,
    allowGlobalContext: false,
    ensureDatabase: false,
    extensions: [Migrator],
    // LOG_LEVEL=trace logs every query with its duration; never at lower levels (values may be personal).
    debug: config.logLevel === 'trace' ? ['query', 'query-params'] : false,
    highlighter: undefined,
    logger: (message) => logger.trace({ orm: message }),
  });
  if (config.database.kind === 'sqlite') {
    await db.em.getConnection().execute('pragma journal_mode = wal');
    await db.em.getConnection().execute('pragma busy_timeout = 5000');
  }
  return db;
}

/**
 * MySQL: applies each module's committed migrations, tracked in the module's own table.
 * SQLite (the embedded local default): creates or extends the tables from the entities.
 */
export async function prepareSchema(db: Database, config: Config, modules: BookstoreModule[], logger: Logger) {
  if (config.database.kind === 'sqlite') {
    await db.schema.updateSchema({ safe: true });
    return;
  }
  for (const module of modules) {
    if (!module.migrations?.length) continue;
    const applied = await moduleMigrator(db, module).up();
    if (applied.length) logger.info({ module: module.name, migrations: applied.map((m) => m.name) }, 'migrations applied');
  }
}

export function moduleMigrator(db: Database, module: BookstoreModule, path?: string): Migrator {
  db.config.set('migrations', {
    ...db.config.get('migrations'),
    tableName: migrationsTable(module.name),
    migrationsList: path ? undefined : module.migrations,
    path: path ?? `./modules/${module.name}/migrations`,
    pathTs: path ?? `./modules/${module.name}/migrations`,
    snapshot: false,
    // MySQL commits DDL implicitly, so wrapping migrations in a transaction would only pretend.
    transactional: false,
    emit: 'ts',
    fileName: (timestamp: string, name?: string) => `Migration${timestamp}${name ? `_${name}` : ''}`,
  });
  return new Migrator(db.em);
}

export async function databaseAnswers(db: Database): Promise<boolean> {
  try {
    await db.em.getConnection().execute('select 1');
    return true;
  } catch {
    return false;
  }
}

/** What the MySQL driver and the pool say when the server cannot be reached or a connection to it broke. */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'PROTOCOL_CONNECTION_LOST', 'ER_SERVER_SHUTDOWN', 'ER_CON_COUNT_ERROR']);

/**
 * Whether `error` means the database is out of reach (restarting, failed over, refusing connections)
 * rather than that the request or the code is wrong: a caller may simply try again shortly. Looks
 * through the wrappers (MikroORM's exceptions keep the driver's error as `cause` or `previous`).
 */
export function databaseUnreachable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const { code, fatal } = current as { code?: unknown; fatal?: unknown };
    if (current.name === 'ConnectionException' || current.name === 'KnexTimeoutError') return true;
    if (fatal === true || (typeof code === 'string' && CONNECTION_CODES.has(code))) return true;
    current = current.cause ?? (current as { previous?: unknown }).previous;
  }
  return false;
}

/** `?, ?, ?` for an `in (…)` list of `count` values, in hand-written SQL. */
export function placeholders(count: number): string {
  return Array.from({ length: count }, () => '?').join(', ');
}

/** A datetime column read as a plain row: MySQL hands back a Date, SQLite a number or text. */
export function dateFrom(value: Date | string | number): Date {
  return value instanceof Date ? value : new Date(value);
}
