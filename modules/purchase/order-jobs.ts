import type { RetryPolicies } from '../../kernel/queues.js';

/** The queue of payment jobs (charging, giving back). */
export const PAYMENTS = 'payments';
/** The queue of delivery jobs (shipping, delivering). */
export const DELIVERIES = 'deliveries';

/** Declared by every module that works on orders (kernel/module.ts `queues`), so each process retries alike. */
export const PURCHASE_QUEUES: RetryPolicies = {
  /** Payments retry quickly (transient gateway errors clear in seconds); a decline is never retried. */
  [PAYMENTS]: { attempts: 6, backoffMs: 300 },
  /** Delivery steps retry patiently: nothing about them is urgent, and nothing may be lost. */
  [DELIVERIES]: { attempts: 10, backoffMs: 1000 },
};

export type JobName = 'pay' | 'compensate' | 'ship' | 'deliver';

export const QUEUE_OF: Record<JobName, string> = { pay: PAYMENTS, compensate: PAYMENTS, ship: DELIVERIES, deliver: DELIVERIES };
