import { defineEntity, type InferEntity } from '@mikro-orm/core';
import { JsonText } from '../../kernel/json-text.js';

export const ORDER_STATUSES = ['reserving', 'pending_payment', 'paid', 'payment_failed', 'shipped', 'delivered', 'cancelled'] as const;
/** `reserving` is internal: the order row exists but its stock is not yet confirmed; clients never see it. */
export type OrderStatus = (typeof ORDER_STATUSES)[number];
export type PaymentMethod = 'card' | 'paypal' | 'bank_transfer';
export type PaymentStatus = 'pending' | 'captured' | 'declined' | 'failed' | 'refunded' | 'voided';

export interface ShippingAddress {
  name: string;
  line1: string;
  line2?: string;
  city: string;
  postalCode?: string;
  country: string;
}

export const DeliveryProvider = defineEntity({
  name: 'DeliveryProvider',
  tableName: 'purchase_delivery_providers',
  properties: (p) => ({
    id: p.string().length(32).primary(),
    name: p.string().length(100),
    coverage: p.enum(['international', 'national']),
    costCents: p.integer(),
  }),
});
export type DeliveryProvider = InferEntity<typeof DeliveryProvider>;

export const Order = defineEntity({
  name: 'Order',
  tableName: 'purchase_orders',
  indexes: [{ properties: ['buyerId', 'createdAt'] }, { properties: ['status', 'updatedAt'] }],
  uniques: [{ properties: ['buyerId', 'idempotencyKey'] }],
  properties: (p) => ({
    id: p.string().length(36).primary(),
    buyerId: p.integer(),
    status: p.enum([...ORDER_STATUSES]),
    // Sums of prices × quantities (up to 20 × 100 × the largest price) pass 2^31: 64-bit on every
    // backend, read back as JS numbers (exact far beyond any order's total).
    subtotalCents: p.bigint('number'),
    deliveryCostCents: p.integer(),
    totalCents: p.bigint('number'),
    currency: p.string().length(3),
    deliveryProviderId: p.string().length(32),
    deliveryProviderName: p.string().length(100),
    shippingAddress: p.type(new JsonText<ShippingAddress>()),
    paymentMethod: p.enum(['card', 'paypal', 'bank_transfer']),
    paymentStatus: p.enum(['pending', 'captured', 'declined', 'failed', 'refunded', 'voided']),
    paymentBrand: p.string().length(20).nullable(),
    paymentLast4: p.string().length(4).nullable(),
    /** What the (simulated) gateway needs to charge: a payment-method token, never a card number. */
    paymentToken: p.string().length(80),
    trackingNumber: p.string().length(40).nullable(),
    idempotencyKey: p.string().length(255).nullable(),
    requestHash: p.string().length(64).nullable(),
    /** How many times the sweeper tried to finish this order while it sat in `reserving`; it gives up after MAX_SWEEP_ATTEMPTS. */
    sweepAttempts: p.integer().default(0),
    createdAt: p.datetime(3).onCreate(() => new Date()),
    updatedAt: p.datetime(3).onCreate(() => new Date()).onUpdate(() => new Date()),
  }),
});
export type Order = InferEntity<typeof Order>;

/** A snapshot of what was bought, so a later price change or deletion in the catalog changes nothing. */
export const OrderItem = defineEntity({
  name: 'OrderItem',
  tableName: 'purchase_order_items',
  indexes: [{ properties: ['sellerId', 'orderId'] }],
  properties: (p) => ({
    orderId: p.string().length(36).primary(),
    bookId: p.integer().primary(),
    title: p.string().length(300),
    unitPriceCents: p.integer(),
    quantity: p.integer(),
    sellerId: p.integer(),
  }),
});
export type OrderItem = InferEntity<typeof OrderItem>;

export const OrderEvent = defineEntity({
  name: 'OrderEvent',
  tableName: 'purchase_order_events',
  properties: (p) => ({
    id: p.integer().primary().autoincrement(),
    orderId: p.string().length(36).index(),
    status: p.string().length(32),
    detail: p.string().length(300).nullable(),
    at: p.datetime(3),
  }),
});
export type OrderEvent = InferEntity<typeof OrderEvent>;

/**
 * Transactional outbox: a job to hand to the queue, written in the same transaction as the state
 * change that calls for it, so that no accepted order is ever left without its next step.
 */
export const OutboxMessage = defineEntity({
  name: 'OutboxMessage',
  tableName: 'purchase_outbox',
  properties: (p) => ({
    id: p.integer().primary().autoincrement(),
    queue: p.string().length(32),
    job: p.string().length(32),
    orderId: p.string().length(36),
    availableAt: p.datetime(3),
    createdAt: p.datetime(3).onCreate(() => new Date()),
    dispatchedAt: p.datetime(3).nullable().index(),
  }),
});
export type OutboxMessage = InferEntity<typeof OutboxMessage>;

/**
 * The simulated payment gateway's ledger. A real gateway keeps this on its side and honours our
 * idempotency key (the order id): one row per order, so an order can be captured once at most.
 */
export const GatewayCharge = defineEntity({
  name: 'GatewayCharge',
  tableName: 'purchase_gateway_charges',
  properties: (p) => ({
    orderId: p.string().length(36).primary(),
    amountCents: p.bigint('number'),
    status: p.enum(['processing', 'captured', 'declined', 'refunded']),
    attempts: p.integer().default(0),
    /** How many times money moved for this order; the gateway's own proof that it is never above 1. */
    captures: p.integer().default(0),
    capturedAt: p.datetime(3).nullable(),
    refundedAt: p.datetime(3).nullable(),
  }),
});
export type GatewayCharge = InferEntity<typeof GatewayCharge>;

export const PURCHASE_ENTITIES = [DeliveryProvider, Order, OrderItem, OrderEvent, OutboxMessage, GatewayCharge];
