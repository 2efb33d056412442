import { Type, type Platform } from '@mikro-orm/core';

/**
 * A JSON value kept in a text column. MariaDB's JSON is LONGTEXT underneath and comes back from
 * the MySQL driver as a string; storing and parsing it ourselves reads the same on MySQL, MariaDB
 * and SQLite.
 */
export class JsonText<T extends object> extends Type<T, string> {
  override convertToDatabaseValue(value: T): string {
    return JSON.stringify(value);
  }

  override convertToJSValue(value: string | T): T {
    return typeof value === 'string' ? (JSON.parse(value) as T) : value;
  }

  override getColumnType(_prop: unknown, _platform: Platform): string {
    return 'text';
  }
}
