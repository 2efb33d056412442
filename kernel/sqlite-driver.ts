import { JsonProperty, Utils, type AnyEntity, type Configuration, type EntityData, type LoggingOptions, type Transaction } from '@mikro-orm/core';
import { AbstractSqlDriver, BetterSqliteConnection, BetterSqlitePlatform, type Knex, type QueryResult } from '@mikro-orm/better-sqlite';

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
