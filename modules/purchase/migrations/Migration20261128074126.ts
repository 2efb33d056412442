import { Migration } from '@mikro-orm/migrations';

export class Migration20261128074126 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`purchase_delivery_providers\` (\`id\` varchar(32) not null, \`name\` varchar(100) not null, \`coverage\` enum('international', 'national') not null, \`cost_cents\` int not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);

    this.addSql(`create table \`purchase_gateway_charges\` (\`order_id\` varchar(36) not null, \`amount_cents\` int not null, \`status\` enum('processing', 'captured', 'declined', 'refunded') not null, \`attempts\` int not null default 0, \`captures\` int not null default 0, \`captured_at\` datetime(3) null, \`refunded_at\` datetime(3) null, primary key (\`order_id\`)) default character set utf8mb4 engine = InnoDB;`);

    this.addSql(`create table \`purchase_orders\` (\`id\` varchar(36) not null, \`buyer_id\` int not null, \`status\` enum('reserving', 'pending_payment', 'paid', 'payment_failed', 'shipped', 'delivered', 'cancelled') not null, \`subtotal_cents\` int not null, \`delivery_cost_cents\` int not null, \`total_cents\` int not null, \`currency\` varchar(3) not null, \`delivery_provider_id\` varchar(32) not null, \`delivery_provider_name\` varchar(100) not null, \`shipping_address\` text not null, \`payment_method\` enum('card', 'paypal', 'bank_transfer') not null, \`payment_status\` enum('pending', 'captured', 'declined', 'failed', 'refunded', 'voided') not null, \`payment_brand\` varchar(20) null, \`payment_last4\` varchar(4) null, \`payment_token\` varchar(80) not null, \`tracking_number\` varchar(40) null, \`idempotency_key\` varchar(255) null, \`request_hash\` varchar(64) null, \`created_at\` datetime(3) not null, \`updated_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`purchase_orders\` add index \`purchase_orders_buyer_id_created_at_index\`(\`buyer_id\`, \`created_at\`);`);
    this.addSql(`alter table \`purchase_orders\` add index \`purchase_orders_status_updated_at_index\`(\`status\`, \`updated_at\`);`);
    this.addSql(`alter table \`purchase_orders\` add unique \`purchase_orders_buyer_id_idempotency_key_unique\`(\`buyer_id\`, \`idempotency_key\`);`);

    this.addSql(`create table \`purchase_order_events\` (\`id\` int unsigned not null auto_increment primary key, \`order_id\` varchar(36) not null, \`status\` varchar(32) not null, \`detail\` varchar(300) null, \`at\` datetime(3) not null) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`purchase_order_events\` add index \`purchase_order_events_order_id_index\`(\`order_id\`);`);

    this.addSql(`create table \`purchase_order_items\` (\`order_id\` varchar(36) not null, \`book_id\` int unsigned not null, \`title\` varchar(300) not null, \`unit_price_cents\` int not null, \`quantity\` int not null, \`seller_id\` int not null, primary key (\`order_id\`, \`book_id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`purchase_order_items\` add index \`purchase_order_items_seller_id_order_id_index\`(\`seller_id\`, \`order_id\`);`);

    this.addSql(`create table \`purchase_outbox\` (\`id\` int unsigned not null auto_increment primary key, \`queue\` varchar(32) not null, \`job\` varchar(32) not null, \`order_id\` varchar(36) not null, \`available_at\` datetime(3) not null, \`created_at\` datetime(3) not null, \`dispatched_at\` datetime(3) null) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`purchase_outbox\` add index \`purchase_outbox_dispatched_at_index\`(\`dispatched_at\`);`);

    // The delivery providers the store starts with; later changes get migrations of their own.
    this.addSql(`insert into \`purchase_delivery_providers\` (\`id\`, \`name\`, \`coverage\`, \`cost_cents\`) values
      ('dhl', 'DHL', 'international', 2500),
      ('fedex', 'FedEx', 'international', 2200),
      ('envia', 'Envia', 'national', 800),
      ('servientrega', 'Servientrega', 'national', 600);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`purchase_delivery_providers\`;`);

    this.addSql(`drop table if exists \`purchase_gateway_charges\`;`);

    this.addSql(`drop table if exists \`purchase_orders\`;`);

    this.addSql(`drop table if exists \`purchase_order_events\`;`);

    this.addSql(`drop table if exists \`purchase_order_items\`;`);

    this.addSql(`drop table if exists \`purchase_outbox\`;`);
  }

}
