import { JsonProperty, Utils, type AnyEntity, type Configuration, type EntityData, type LoggingOptions, type Transaction } from '@mikro-orm/core';
import { AbstractSqlDriver, BetterSqliteConnection, BetterSqlitePlatform, type Knex, type QueryResult } from '@mikro-orm/better-sqlite';

/** The part of knex's client that hands out its one better-sqlite3 connection. */
interface SqliteClient {
  acquireConnection(): Promise<{ exec(sql: string): void }>;
  releaseConnection(connection: unknown): Promise<void>;
}

/** A text of several statements with no values: schema changes. */
function isScript(statement: BoundStatement): boolean {
  return statement.bindings.length === 0 && /;\s*\S/.test(statement.sql);
}

/** A statement with a `?` for every value, and the values in order. */
interface BoundStatement {
  sql: string;
  bindings: unknown[];
}

/** SQLite keeps whole numbers as INTEGER; better-sqlite3 binds every JS number as REAL unless it is a bigint. */
function sqliteNumber(value: number): number | bigint {
  return Number.isSafeInteger(value) ? BigInt(value) : value;
}

/**
 * MikroORM 6 writes every value into the SQL text (`Platform.formatQuery`), and its SQLite escaping
 * only doubles quotes: a NUL byte ends the statement for SQLite's tokenizer ("unrecognized token").
 * This binds each value as a parameter instead, converted as MikroORM's SQLite formatting would
 * write it: dates as epoch milliseconds, booleans as 1/0, JSON properties as their JSON text,
 * arrays as a list. Raw SQL fragments stay SQL, with their own values bound.
 */
export class BoundSqliteConnection extends BetterSqliteConnection {
  override async execute<T extends QueryResult | EntityData<AnyEntity> | EntityData<AnyEntity>[] = EntityData<AnyEntity>[]>(
    queryOrKnex: string | Knex.QueryBuilder | Knex.Raw,
    params: unknown[] = [],
    method: 'all' | 'get' | 'run' = 'all',
    ctx?: Transaction,
    loggerContext?: LoggingOptions,
  ): Promise<T> {
    await this.ensureConnection();
    let query: string;
    if (typeof queryOrKnex === 'string') {
      query = queryOrKnex;
    } else {
      // As MikroORM does: a builder made on a transaction runs in it.
      const { client } = queryOrKnex as unknown as { client: { transacting?: boolean } };
      ctx ??= client.transacting ? (queryOrKnex as unknown as Transaction) : undefined;
      const compiled = queryOrKnex.toSQL();
      query = compiled.sql;
      params = [...(compiled.bindings ?? [])];
    }
    query = this.config.get('onQuery')(query, params);
    const statement = this.bind(query, params);
    const logged = this.config.getLogger().isEnabled('query-params', loggerContext) ? this.platform.formatQuery(query, params) : query;
    if (isScript(statement)) return this.executeQuery(logged, () => this.runScript(statement.sql), { query, params, ...loggerContext }) as Promise<T>;
    return this.executeQuery(
      logged,
      async () => {
        const raw = statement.bindings.length ? this.getKnex().raw(statement.sql, statement.bindings as Knex.RawBinding[]) : this.getKnex().raw(statement.sql);
        if (ctx) raw.transacting(ctx as Knex.Transaction);
        return this.transformRawResult<T>(await raw, method);
      },
      { query, params, ...loggerContext },
    );
  }

  /**
   * MikroORM's schema update sends the statements of one change as one text (e.g. `pragma …;
   * alter table …`), which better-sqlite3 refuses to prepare; it runs them with `exec`, as
   * MikroORM itself does for SQL files. Only DDL comes this way: it never carries values.
   */
  private async runScript(sql: string): Promise<QueryResult> {
    const knex = this.getKnex().client as unknown as SqliteClient;
    const connection = await knex.acquireConnection();
    try {
      connection.exec(sql);
    } finally {
      await knex.releaseConnection(connection);
    }
    return { affectedRows: 0, insertId: 0 } as QueryResult;
  }

  /**
   * knex rewrites a failed statement's message with its bindings, which fails on a bigint
   * ("str.replace is not a function") and loses SQLite's own error: keep the error as it came.
   */
  override getKnexOptions(type: string): Knex.Config {
    return { ...super.getKnexOptions(type), compileSqlOnError: false };
  }

  /** The statement's `?` and `??` placeholders, as MikroORM's formatQuery reads them, with values left as bindings. */
  private bind(sql: string, params: readonly unknown[]): BoundStatement {
    const bindings: unknown[] = [];
    let next = 0;
    const text = sql.replace(/\\\?|\?\??/g, (placeholder) => {
      if (placeholder === '\\?') return placeholder;
      const value = params[next++];
      if (placeholder === '??') return this.platform.quoteIdentifier(String(value));
      return this.parameter(value, bindings);
    });
    return { sql: text, bindings };
  }

  /** The SQL that stands for one value: `?` with the value bound, or the SQL of a raw fragment. */
  private parameter(value: unknown, bindings: unknown[]): string {
    if (Utils.isRawSql(value)) {
      const fragment = this.bind(value.sql, value.params ?? []);
      bindings.push(...fragment.bindings);
      return fragment.sql;
    }
    if (this.platform.isRaw(value)) return String(this.platform.quoteValue(value));
    // An array is a list (`in (?, ?)`), unless it is the value of a JSON property.
    if (Array.isArray(value) && !(JsonProperty in value)) return value.map((item: unknown) => (Array.isArray(item) ? `(${this.parameter(item, bindings)})` : this.parameter(item, bindings))).join(', ');
    bindings.push(this.bindable(value));
    return '?';
  }

  private bindable(value: unknown): unknown {
    if (value === null || value === undefined) return null;
    if (value instanceof Date) return sqliteNumber(value.getTime());
    if (typeof value === 'boolean') return value ? 1n : 0n;
    if (typeof value === 'number') return sqliteNumber(value);
    if (typeof value === 'string' || typeof value === 'bigint' || Buffer.isBuffer(value)) return value;
    if (Utils.isPlainObject(value) || (typeof value === 'object' && JsonProperty in value)) return JSON.stringify(value);
    return String(value);
  }
}

/** MikroORM's better-sqlite3 driver with values bound as parameters (see BoundSqliteConnection). */
export class BoundSqliteDriver extends AbstractSqlDriver<BoundSqliteConnection, BetterSqlitePlatform> {
  constructor(config: Configuration) {
    super(config, new BetterSqlitePlatform(), BoundSqliteConnection, ['knex', 'better-sqlite3']);
  }
}
