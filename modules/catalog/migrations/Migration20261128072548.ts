import { Migration } from '@mikro-orm/migrations';

export class Migration20261128072548 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`catalog_books\` (\`id\` int unsigned not null auto_increment primary key, \`title\` varchar(300) not null, \`author\` varchar(200) not null, \`description\` text not null default (''), \`isbn\` varchar(17) null, \`price_cents\` int not null, \`stock\` int not null, \`seller_id\` int not null, \`created_at\` datetime(3) not null, \`updated_at\` datetime(3) not null, \`deleted_at\` datetime(3) null) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`catalog_books\` add index \`catalog_books_deleted_at_created_at_index\`(\`deleted_at\`, \`created_at\`);`);
    this.addSql(`alter table \`catalog_books\` add index \`catalog_books_deleted_at_price_cents_index\`(\`deleted_at\`, \`price_cents\`);`);
    this.addSql(`alter table \`catalog_books\` add index \`catalog_books_deleted_at_title_index\`(\`deleted_at\`, \`title\`);`);
    this.addSql(`alter table \`catalog_books\` add index \`catalog_books_seller_id_deleted_at_created_at_index\`(\`seller_id\`, \`deleted_at\`, \`created_at\`);`);

    this.addSql(`create table \`catalog_book_words\` (\`word\` varchar(64) character set utf8mb4 collate utf8mb4_bin not null, \`book_id\` int unsigned not null, primary key (\`word\`, \`book_id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`catalog_book_words\` add index \`catalog_book_words_book_id_index\`(\`book_id\`);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`catalog_books\`;`);

    this.addSql(`drop table if exists \`catalog_book_words\`;`);
  }

}
