import { placeholders } from '../../kernel/database.js';
import type { EntityManager } from '../../kernel/module.js';
import type { ReservedItem } from '../catalog/client.js';

/** An order's money from its priced lines; sums beyond 2^31 are why the totals' columns are 64-bit. */
export function totals(lines: { unitPriceCents: number; quantity: number }[], deliveryCostCents: number) {
  const subtotalCents = lines.reduce((sum, line) => sum + line.unitPriceCents * line.quantity, 0);
  return { subtotalCents, deliveryCostCents, totalCents: subtotalCents + deliveryCostCents };
}

/** The order's lines as the catalog priced them: one statement, a CASE per column. */
export async function describeItems(tx: EntityManager, orderId: string, items: ReservedItem[]): Promise<void> {
  const cases = (pick: (item: ReservedItem) => string | number) => ({ sql: `case book_id ${items.map(() => 'when ? then ?').join(' ')} end`, params: items.flatMap((i) => [i.bookId, pick(i)]) });
  const [title, price, seller] = [cases((i) => i.title), cases((i) => i.unitPriceCents), cases((i) => i.sellerId)];
  await tx.execute(
    `update purchase_order_items set title = ${title.sql}, unit_price_cents = ${price.sql}, seller_id = ${seller.sql} where order_id = ? and book_id in (${placeholders(items.length)})`,
    [...title.params, ...price.params, ...seller.params, orderId, ...items.map((i) => i.bookId)],
    'run',
  );
}
