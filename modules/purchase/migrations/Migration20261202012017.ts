import { Migration } from '@mikro-orm/migrations';

/**
 * Money that is a sum (an order's subtotal and total, what the gateway charges) in 64 bits: 20 lines
 * of 100 copies at the catalog's largest price pass the 2,147,483,647 an INT holds. And the
 * sweeper's count of attempts at an interrupted order, so that it gives up on one it cannot finish.
 */
export class Migration20261202012017 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`purchase_orders\` modify \`subtotal_cents\` bigint not null, modify \`total_cents\` bigint not null, add \`sweep_attempts\` int not null default 0;`);
    this.addSql(`alter table \`purchase_gateway_charges\` modify \`amount_cents\` bigint not null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table \`purchase_gateway_charges\` modify \`amount_cents\` int not null;`);
    this.addSql(`alter table \`purchase_orders\` drop column \`sweep_attempts\`, modify \`subtotal_cents\` int not null, modify \`total_cents\` int not null;`);
  }

}
