import { IsolationLevel } from '@mikro-orm/core';
import { placeholders } from '../../kernel/database.js';
import type { Logger } from '../../kernel/logger.js';
import type { Database, EntityManager } from '../../kernel/module.js';
import type { JobQueues, JobRequest } from '../../kernel/queues.js';
import type { SqlRow } from '../../kernel/sql-table.js';
import { QUEUE_OF, type JobName } from './order-jobs.js';
import { OUTBOX } from './rows.js';

/** A job written to the outbox in a transaction, to hand to the queue once that transaction commits. */
export interface Outgoing {
  id: number;
  request: JobRequest;
}

/**
 * The queue's job for an order's step; its id is the order's and the step's, so handing it over
 * twice (the outbox's two ways, the sweeper) makes one job.
 */
export const jobRequest = (queue: string, job: string, orderId: string, delayMs: number): JobRequest => ({ queue, name: job, data: { orderId }, jobId: `${job}-${orderId}`, delayMs });

const MESSAGE = ['queue', 'job', 'orderId', 'availableAt', 'createdAt'] as const;
const INSERT_MESSAGE = OUTBOX.insert(MESSAGE);

/** Records, inside the caller's transaction, that a job must run for an order (after `delayMs`). */
export async function enqueue(tx: EntityManager, job: JobName, orderId: string, delayMs = 0): Promise<Outgoing> {
  const now = new Date();
  const message = { queue: QUEUE_OF[job], job, orderId, availableAt: new Date(now.getTime() + delayMs), createdAt: now };
  const written = await tx.execute<{ insertId: number }>(INSERT_MESSAGE, OUTBOX.values(MESSAGE, message), 'run');
  return { id: Number(written.insertId), request: jobRequest(QUEUE_OF[job], job, orderId, delayMs) };
}

const RELAYED = ['id', 'queue', 'job', 'orderId', 'availableAt'] as const;
const { c } = OUTBOX;
/** Undispatched messages older than a moment, oldest first (the periodic pass adds its LIMIT and lock). */
const READ_LEFT_BEHIND = `select ${OUTBOX.list(RELAYED)} from ${OUTBOX.name} where ${c.dispatchedAt} is null and ${c.createdAt} < ? order by ${c.id}`;

/** Messages one hand-over takes at most: one Redis pipeline, one UPDATE. */
const BATCH = 200;
/** How long a committed message waits for others to share its hand-over: one pipeline and one UPDATE for many orders. */
const LINGER_MS = 5;
/** Younger undispatched messages are on their way through `send`; the periodic pass leaves them be. */
export const LEFT_BEHIND_MS = 2_000;

/**
 * Moves outbox messages to the job queue, two ways.
 *
 * - `send`: the process that committed a message hands it over itself, right after the commit,
 *   with the others it committed meanwhile: one `addBulk` and one UPDATE for the whole batch, no
 *   locking read. This carries every message while the queue is up.
 * - the periodic pass (`drain`): what a crash or a Redis outage left behind (older than
 *   LEFT_BEHIND_MS). Several relays may run (one per process); on MySQL each takes rows with SKIP
 *   LOCKED so they share the work.
 *
 * A message is marked dispatched only once the queue has it, and the job id is derived from the
 * message, so a crash in between, or both ways at once, at worst hand the queue the same job twice,
 * which it ignores. Each module that works on orders has its own relay (context.ts).
 */
export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;
  private outgoing: Outgoing[] = [];
  private sending = false;
  private lingering: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Database,
    private readonly jobs: JobQueues,
    private readonly logger: Logger,
    private readonly skipLocked: boolean,
  ) {}

  start(intervalMs: number) {
    this.timer ??= setInterval(() => void this.drain(), intervalMs);
    this.timer.unref();
  }

  /** Look for messages left behind now (at start) instead of at the next tick. */
  nudge() {
    void this.drain();
  }

  /** Hands committed messages to the queue now, batched with whatever else this process committed meanwhile. */
  send(...messages: Outgoing[]) {
    this.outgoing.push(...messages);
    this.lingering ??= setTimeout(() => {
      this.lingering = undefined;
      void this.sendAll();
    }, LINGER_MS);
  }

  private async sendAll(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.outgoing.length) {
        const batch = this.outgoing.splice(0, BATCH);
        await this.jobs.addBulk(batch.map((message) => message.request));
        await markDispatched(this.db.em.fork(), batch.map((message) => message.id));
      }
    } catch (error) {
      // Still undispatched in the table: the periodic pass hands them over once the queue is back.
      this.outgoing = [];
      this.logger.warn({ err: (error as Error).message }, 'outbox relay: queue unavailable, will retry');
    } finally {
      this.sending = false;
    }
  }

  async stop() {
    clearInterval(this.timer);
    this.timer = undefined;
    if (!this.lingering) return;
    clearTimeout(this.lingering);
    this.lingering = undefined;
    await this.sendAll();
  }

  async drain(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        while ((await this.dispatchBatch()) === BATCH);
      } while (this.again);
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'outbox relay: queue unavailable, will retry');
    } finally {
      this.running = false;
    }
  }

  /**
   * One batch of what was left behind: a locking read, one `addBulk`, one UPDATE.
   * READ COMMITTED: the locking read takes no gap locks, so orders being placed meanwhile can
   * still insert their outbox rows instead of waiting for this batch's round trip to Redis.
   */
  private dispatchBatch(): Promise<number> {
    return this.db.em.fork().transactional(async (tx) => {
      const rows = await tx.execute<SqlRow[]>(
        `${READ_LEFT_BEHIND} limit ${BATCH}${this.skipLocked ? ' for update skip locked' : ''}`,
        [new Date(Date.now() - LEFT_BEHIND_MS)],
      );
      if (rows.length === 0) return 0;
      const messages = rows.map((row) => OUTBOX.fromRow(row, RELAYED));
      const now = Date.now();
      await this.jobs.addBulk(messages.map((m) => jobRequest(m.queue, m.job, m.orderId, m.availableAt.getTime() - now)));
      await markDispatched(tx, messages.map((m) => m.id));
      return messages.length;
    }, this.skipLocked ? { isolationLevel: IsolationLevel.READ_COMMITTED } : {});
  }
}

async function markDispatched(em: EntityManager, ids: number[]) {
  await em.execute(`update ${OUTBOX.name} set ${c.dispatchedAt} = ? where ${c.id} in (${placeholders(ids.length)}) and ${c.dispatchedAt} is null`, [new Date(), ...ids], 'run');
}
