import { IsolationLevel, LockMode } from '@mikro-orm/core';
import type { Logger } from '../../kernel/logger.js';
import type { Database, EntityManager, ModuleContext } from '../../kernel/module.js';
import type { JobQueues } from '../../kernel/queues.js';
import { OutboxMessage } from './entities.js';
import { QUEUE_OF, type JobName } from './queues.js';

/** Records, inside the caller's transaction, that a job must run for an order (after `delayMs`). */
export function enqueue(tx: EntityManager, job: JobName, orderId: string, delayMs = 0) {
  tx.create(OutboxMessage, { queue: QUEUE_OF[job], job, orderId, availableAt: new Date(Date.now() + delayMs), dispatchedAt: null });
}

/**
 * Moves outbox messages to the job queue. Several relays may run (one per process); on MySQL each
 * takes rows with SKIP LOCKED so they share the work. A message is marked dispatched only once the
 * queue has it, and the job id is derived from the message, so a crash in between at worst hands
 * the queue the same job twice, which it ignores.
 */
export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;

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

  /** Dispatch now, e.g. right after a commit, instead of at the next tick. */
  nudge() {
    void this.drain();
  }

  async stop() {
    clearInterval(this.timer);
    this.timer = undefined;
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
        while ((await this.dispatchBatch()) === 100);
      } while (this.again);
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'outbox relay: queue unavailable, will retry');
    } finally {
      this.running = false;
    }
  }

  /**
   * READ COMMITTED: the locking read takes no gap locks, so orders being placed meanwhile can
   * still insert their outbox rows instead of waiting for this batch's round trips to Redis.
   */
  private dispatchBatch(): Promise<number> {
    return this.db.em.fork().transactional(async (tx) => {
      const messages = await tx.find(
        OutboxMessage,
        { dispatchedAt: null },
        { orderBy: { id: 'asc' }, limit: 100, ...(this.skipLocked ? { lockMode: LockMode.PESSIMISTIC_PARTIAL_WRITE } : {}) },
      );
      for (const message of messages) {
        await this.jobs.add({
          queue: message.queue,
          name: message.job,
          data: { orderId: message.orderId },
          jobId: `${message.job}-${message.orderId}`,
          delayMs: message.availableAt.getTime() - Date.now(),
        });
        message.dispatchedAt = new Date();
      }
      return messages.length;
    }, this.skipLocked ? { isolationLevel: IsolationLevel.READ_COMMITTED } : {});
  }
}

const relays = new WeakMap<Database, OutboxRelay>();

/** One relay per process and database, however many purchase roles the process runs. */
export function outboxRelay(ctx: ModuleContext): OutboxRelay {
  let relay = relays.get(ctx.db);
  if (!relay) {
    relay = new OutboxRelay(ctx.db, ctx.jobs, ctx.logger, ctx.config.database.kind === 'mysql');
    relays.set(ctx.db, relay);
  }
  return relay;
}
