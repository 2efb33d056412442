import { Migration } from '@mikro-orm/migrations';

/**
 * The book's version (its ETag, and what conditional writes compare). Existing rows start at 1.
 * Only this column: the other lines the schema diff offered are MariaDB's way of reporting
 * defaults, not changes.
 */
export class Migration20261202011837 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`catalog_books\` add \`version\` int not null default 1;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table \`catalog_books\` drop column \`version\`;`);
  }

}
