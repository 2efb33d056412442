import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261128072548 } from './Migration20261128072548.js';
import { Migration20261128073621 } from './Migration20261128073621.js';
import { Migration20261202011837 } from './Migration20261202011837.js';

/** Applied in this order; each module keeps its own migrations table. */
export const migrations: MigrationObject[] = [
  { name: 'Migration20261128072548', class: Migration20261128072548 },
  { name: 'Migration20261128073621', class: Migration20261128073621 },
  { name: 'Migration20261202011837', class: Migration20261202011837 },
];
