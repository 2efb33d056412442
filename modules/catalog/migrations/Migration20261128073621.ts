import { Migration } from '@mikro-orm/migrations';

export class Migration20261128073621 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`catalog_reservations\` (\`order_id\` varchar(64) not null, \`book_id\` int unsigned not null, \`quantity\` int not null, \`title\` varchar(300) not null default '', \`unit_price_cents\` int not null default 0, \`seller_id\` int not null default 0, \`status\` enum('held', 'released') not null default 'held', \`created_at\` datetime(3) not null, \`released_at\` datetime(3) null, primary key (\`order_id\`, \`book_id\`)) default character set utf8mb4 engine = InnoDB;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`catalog_reservations\`;`);
  }

}
