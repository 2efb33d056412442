import { SqlTable, asDate, asNumber } from '../../kernel/sql-table.js';
import { GatewayCharge, Order, OrderEvent, OrderItem, OutboxMessage } from './entities.js';

/*
 * The purchase tables as this module's hand-written SQL names them, each with the one mapping from
 * its rows to the entity's types (README, "Data access"). Column names come from entities.ts: a
 * renamed column is renamed there and in a migration, nowhere else.
 */

export const ORDERS = new SqlTable(Order, { subtotalCents: asNumber, totalCents: asNumber, deliveryCostCents: asNumber, createdAt: asDate, updatedAt: asDate });
export const ORDER_ITEMS = new SqlTable(OrderItem);
export const ORDER_EVENTS = new SqlTable(OrderEvent, { at: asDate });
export const OUTBOX = new SqlTable(OutboxMessage, { id: asNumber, availableAt: asDate, createdAt: asDate, dispatchedAt: asDate });
export const GATEWAY_CHARGES = new SqlTable(GatewayCharge, { amountCents: asNumber, capturedAt: asDate, refundedAt: asDate });
