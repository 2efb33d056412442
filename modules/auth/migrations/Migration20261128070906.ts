import { Migration } from '@mikro-orm/migrations';

export class Migration20261128070906 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`auth_users\` (\`id\` int unsigned not null auto_increment primary key, \`name\` varchar(150) not null, \`email\` varchar(254) not null, \`password_hash\` varchar(255) null, \`role\` enum('customer', 'admin') not null default 'customer', \`created_at\` datetime(3) not null) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`auth_users\` add unique \`auth_users_email_unique\`(\`email\`);`);

    this.addSql(`create table \`auth_sessions\` (\`id\` varchar(32) not null, \`secret_hash\` varchar(64) not null, \`user_id\` int unsigned not null, \`expires_at\` datetime(3) not null, \`created_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`auth_sessions\` add index \`auth_sessions_user_id_index\`(\`user_id\`);`);
    this.addSql(`alter table \`auth_sessions\` add index \`auth_sessions_expires_at_index\`(\`expires_at\`);`);

    this.addSql(`alter table \`auth_sessions\` add constraint \`auth_sessions_user_id_foreign\` foreign key (\`user_id\`) references \`auth_users\` (\`id\`) on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table \`auth_sessions\` drop foreign key \`auth_sessions_user_id_foreign\`;`);

    this.addSql(`drop table if exists \`auth_users\`;`);

    this.addSql(`drop table if exists \`auth_sessions\`;`);
  }

}
