import { ReferenceKind, UnderscoreNamingStrategy, type EntitySchema } from '@mikro-orm/core';
import { dateFrom } from './database.js';

/** The store keeps MikroORM's default naming for SQL databases, so a column is named as MikroORM names it. */
const naming = new UnderscoreNamingStrategy();

declare const stored: unique symbol;

/**
 * A row as a hand-written query hands it back (`execute<SqlRow[]>`): column names, the database's
 * types. Branded, so that an object already in the entity's words is never mistaken for one.
 */
export type SqlRow = Readonly<Record<string, unknown>> & { readonly [stored]: true };

/**
 * How each property's stored value becomes the entity's, where the backends differ: a datetime is a
 * Date on MySQL, a number or text on SQLite (`dateFrom`); a 64-bit integer may come back as text
 * (`Number`). Properties not named are taken as they are.
 */
export type Conversions<T> = { [P in keyof T]?: (stored: never) => T[P] };

/** The usual conversions: `Number` for 64-bit integers, `dateFrom` for datetimes. */
export const asNumber = (stored: number | string | bigint): number => Number(stored);
export const asDate = (stored: Date | string | number): Date => dateFrom(stored);

type Property<T> = keyof T & string;

/**
 * An entity's table as hand-written SQL names it (README, "Data access"). The columns are read from
 * the entity itself (its own `fieldName`, else MikroORM's naming), so hand-written queries spell no
 * column name of their own, and `fromRow` is the one mapping from a row of the table to the
 * entity's types: renaming a column in entities.ts renames it in every query built here.
 *
 * A statement built from one list of properties takes its `?` values from that same list
 * (`values`), so none relies on the position of a value in a list written somewhere else.
 */
export class SqlTable<T extends object> {
  readonly name: string;
  /** Each property's column, for the WHERE and ORDER BY of hand-written SQL: `${c.ownerId} = ?`. */
  readonly c: Readonly<Record<Property<T>, string>>;

  constructor(
    entity: EntitySchema<T>,
    private readonly conversions: Conversions<T> = {},
  ) {
    const meta = entity.meta;
    this.name = meta.tableName ?? meta.collection;
    const columns: Record<string, string> = {};
    for (const [property, definition] of Object.entries(meta.properties) as [string, { kind?: ReferenceKind; fieldNames?: string[] }][]) {
      const joins = definition.kind === ReferenceKind.MANY_TO_ONE || definition.kind === ReferenceKind.ONE_TO_ONE;
      columns[property] = definition.fieldNames?.[0] ?? (joins ? naming.joinKeyColumnName(property) : naming.propertyToColumnName(property));
    }
    this.c = columns as Record<Property<T>, string>;
  }

  /** One property's column, qualified by the query's alias for this table when given: `t.owner_id`. */
  column(property: Property<T>, alias?: string): string {
    const column = this.c[property];
    if (!column) throw new Error(`${this.name} has no column for ${property}`);
    return alias ? `${alias}.${column}` : column;
  }

  /** `a, b, c`: these properties' columns, in their order (a select list, an insert's columns). */
  list(properties: readonly Property<T>[], alias?: string): string {
    return properties.map((property) => this.column(property, alias)).join(', ');
  }

  /** `insert into <table> (a, b) values (?, ?), …` for `rows` rows of these properties; `values` gives its parameters. */
  insert(properties: readonly Property<T>[], rows = 1): string {
    const row = `(${properties.map(() => '?').join(', ')})`;
    return `insert into ${this.name} (${this.list(properties)}) values ${Array.from({ length: rows }, () => row).join(', ')}`;
  }

  /** `a = ?, b = ?` for an update of these properties; `values` gives its parameters. */
  assign(properties: readonly Property<T>[]): string {
    return properties.map((property) => `${this.column(property)} = ?`).join(', ');
  }

  /** The `?` values of `insert` or `assign` over the same properties: each row's values in the properties' order. */
  values<K extends Property<T>>(properties: readonly K[], ...rows: Record<K, unknown>[]): unknown[] {
    return rows.flatMap((row) => properties.map((property) => row[property]));
  }

  /** These properties of a row a hand-written select read (by their columns), in the entity's types. */
  fromRow<K extends Property<T>>(row: SqlRow, properties: readonly K[]): Pick<T, K> {
    const read: Partial<Record<K, unknown>> = {};
    for (const property of properties) {
      const stored = row[this.c[property]];
      const convert = this.conversions[property] as ((stored: unknown) => unknown) | undefined;
      read[property] = convert && stored !== null && stored !== undefined ? convert(stored) : stored;
    }
    return read as Pick<T, K>;
  }
}
