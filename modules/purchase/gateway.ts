import { randomBytes } from 'node:crypto';
import { DeadlockException, UniqueConstraintViolationException, raw } from '@mikro-orm/core';
import type { EntityManager } from '../../kernel/module.js';
import type { SqlRow } from '../../kernel/sql-table.js';
import { GatewayCharge } from './entities.js';
import { GATEWAY_CHARGES } from './rows.js';

/**
 * The simulated payment gateway. It behaves like a real one where it matters: cards are turned
 * into tokens before anything is stored, every charge carries our idempotency key (the order id),
 * and the same key never moves money twice. Outcomes follow Stripe's test cards.
 */
export type ChargeOutcome = 'captured' | 'declined';

export class TransientGatewayError extends Error {
  constructor() {
    super('the payment processor had a temporary problem');
  }
}

const DECLINED_CARD = '4000000000000002';
const FLAKY_CARD = '4000000000000119';
const FLAKY_FAILURES = 2;

export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return digits.length >= 12 && sum % 10 === 0;
}

export function cardBrand(digits: string): string {
  if (/^4/.test(digits)) return 'visa';
  if (/^(5[1-5]|2[2-7])/.test(digits)) return 'mastercard';
  if (/^3[47]/.test(digits)) return 'amex';
  if (/^6(011|5)/.test(digits)) return 'discover';
  return 'card';
}

/** What the gateway hands back for a card: a token, never the number. */
export function tokenizeCard(digits: string): { token: string; brand: string; last4: string } {
  const behaviour = digits === DECLINED_CARD ? 'decline' : digits === FLAKY_CARD ? 'flaky' : 'ok';
  return { token: `sim_card_${behaviour}_${randomBytes(12).toString('hex')}`, brand: cardBrand(digits), last4: digits.slice(-4) };
}

export function tokenizeAccount(method: 'paypal' | 'bank_transfer'): string {
  return `sim_${method}_ok_${randomBytes(12).toString('hex')}`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Charges an order once. Half the simulated latency passes before the gateway decides and half
 * after, like a network round trip: a worker can die on either side of the capture.
 */
export async function charge(em: EntityManager, input: { orderId: string; token: string; amountCents: number; latencyMs: number }): Promise<ChargeOutcome> {
  await sleep(input.latencyMs / 2);
  const outcome = (await captureAtOnce(em, input)) ?? (await decide(em, input));
  await sleep(input.latencyMs / 2);
  if (outcome === 'transient') throw new TransientGatewayError();
  return outcome;
}

const CAPTURED = ['orderId', 'amountCents', 'status', 'attempts', 'captures', 'capturedAt'] as const;
const INSERT_CAPTURED = GATEWAY_CHARGES.insert(CAPTURED);
const READ_STATUS = `select ${GATEWAY_CHARGES.c.status} from ${GATEWAY_CHARGES.name} where ${GATEWAY_CHARGES.c.orderId} = ?`;

/**
 * The common case, an ordinary card charged for the first time, in one statement: the ledger row is
 * born captured. The order id is its key, so a second attempt (a duplicate job, a retry after a
 * worker died past this point) cannot insert it again and moves no money: it answers what the row
 * says. Answers undefined when the ledger must decide under a lock.
 */
async function captureAtOnce(em: EntityManager, input: { orderId: string; token: string; amountCents: number }): Promise<ChargeOutcome | undefined> {
  if (input.token.startsWith('sim_card_decline_') || input.token.startsWith('sim_card_flaky_')) return undefined;
  try {
    const captured = { orderId: input.orderId, amountCents: input.amountCents, status: 'captured', attempts: 1, captures: 1, capturedAt: new Date() };
    await em.execute(INSERT_CAPTURED, GATEWAY_CHARGES.values(CAPTURED, captured), 'run');
    return 'captured';
  } catch (error) {
    if (!(error instanceof UniqueConstraintViolationException)) throw error;
    const [row] = await em.execute<SqlRow[]>(READ_STATUS, [input.orderId]);
    const status = row && GATEWAY_CHARGES.fromRow(row, ['status']).status;
    if (status === 'processing') return undefined;
    return status === 'declined' ? 'declined' : 'captured';
  }
}

/** Every other case, claimed under the row's lock; duplicates that deadlock on the claim try again. */
async function decide(em: EntityManager, input: { orderId: string; token: string; amountCents: number }): Promise<ChargeOutcome | 'transient'> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await decideOnce(em, input);
    } catch (error) {
      if (!(error instanceof DeadlockException) || attempt >= 5) throw error;
    }
  }
}

async function decideOnce(em: EntityManager, input: { orderId: string; token: string; amountCents: number }): Promise<ChargeOutcome | 'transient'> {
  return em.transactional(async (tx) => {
    await tx
      .createQueryBuilder(GatewayCharge)
      .insert({ orderId: input.orderId, amountCents: input.amountCents, status: 'processing', attempts: 0, captures: 0 })
      .onConflict('orderId')
      .ignore()
      .execute('run');
    // The row stays locked to this transaction from here on: a duplicate job waits, then sees the result.
    const claimed = await tx.nativeUpdate(GatewayCharge, { orderId: input.orderId, status: 'processing' }, { attempts: raw('attempts + 1') });
    const row = await tx.findOneOrFail(GatewayCharge, { orderId: input.orderId }, { refresh: true });
    if (claimed === 0) return row.status === 'declined' ? 'declined' : 'captured';
    if (input.token.startsWith('sim_card_decline_')) {
      row.status = 'declined';
      return 'declined';
    }
    if (input.token.startsWith('sim_card_flaky_') && row.attempts <= FLAKY_FAILURES) return 'transient';
    row.status = 'captured';
    row.captures += 1;
    row.capturedAt = new Date();
    return 'captured';
  });
}

/** Gives a captured payment back, once. Answers whether money was returned by this call or before. */
export async function refund(em: EntityManager, orderId: string): Promise<boolean> {
  await em.nativeUpdate(GatewayCharge, { orderId, status: 'captured' }, { status: 'refunded', refundedAt: new Date() });
  const row = await em.fork().findOne(GatewayCharge, { orderId });
  return row?.status === 'refunded';
}
