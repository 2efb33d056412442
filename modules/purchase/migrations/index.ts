import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261128074126 } from './Migration20261128074126.js';
import { Migration20261202012017 } from './Migration20261202012017.js';

/** Applied in this order; each module keeps its own migrations table. */
export const migrations: MigrationObject[] = [
  { name: 'Migration20261128074126', class: Migration20261128074126 },
  { name: 'Migration20261202012017', class: Migration20261202012017 },
];
