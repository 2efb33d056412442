import { defineQueue } from '../../kernel/queues.js';

/** Payments retry quickly (transient gateway errors clear in seconds); a decline is never retried. */
export const PAYMENTS = defineQueue('payments', { attempts: 6, backoffMs: 300 });
/** Delivery steps retry patiently: nothing about them is urgent, and nothing may be lost. */
export const DELIVERIES = defineQueue('deliveries', { attempts: 10, backoffMs: 1000 });

export type JobName = 'pay' | 'compensate' | 'ship' | 'deliver';

export const QUEUE_OF: Record<JobName, string> = { pay: PAYMENTS, compensate: PAYMENTS, ship: DELIVERIES, deliver: DELIVERIES };
