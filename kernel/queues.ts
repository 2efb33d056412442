import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from './logger.js';
import { createRedis } from './redis.js';

/** A job's payload: a few named strings, such as the id of what it works on. */
export type JobData = Readonly<Record<string, string>>;

export interface JobRequest<Data extends JobData = JobData> {
  queue: string;
  name: string;
  data: Data;
  /** Identical ids are one job: a message handed over twice still runs once at a time. */
  jobId: string;
  delayMs: number;
}

export interface JobContext<Data extends JobData = JobData> {
  name: string;
  data: Data;
  attempt: number;
  /** This attempt is the last one: a handler should settle what it works on rather than leave it hanging. */
  lastAttempt: boolean;
}

export type JobHandler<Data extends JobData = JobData> = (job: JobContext<Data>) => Promise<void>;

export interface QueueOptions {
  attempts: number;
  backoffMs: number;
}

/** Thrown by a handler for a failure that retrying cannot fix. */
export class PermanentJobError extends UnrecoverableError {}

/**
 * Where jobs go: BullMQ on Redis when `REDIS_URL` is set, otherwise an in-process runner with the
 * same retry semantics (the documented local-development mode).
 */
export interface JobQueues {
  readonly kind: 'bullmq' | 'in-process';
  add(request: JobRequest): Promise<void>;
  /** Many jobs in one round trip per queue (the outbox relay's batches). */
  addBulk(requests: JobRequest[]): Promise<void>;
  /**
   * Hands a job over again. Like `add`, a job of that id still waiting, delayed or running is left
   * alone; unlike `add`, one that already finished (failed after its last attempt, or completed) is
   * run again from its first attempt rather than taken as the answer.
   */
  redispatch(request: JobRequest): Promise<void>;
  /** Runs `handler` for a queue in this process with the given concurrency. */
  work<Data extends JobData>(queue: string, handler: JobHandler<Data>, concurrency: number): void;
  /** For /metrics and the operator's view. */
  counts(queue: string): Promise<Record<string, number>>;
  /** The BullMQ queues behind these names (none in-process), for the operator's view. */
  bullQueues(names: string[]): Queue[];
  close(): Promise<void>;
}

/** Each queue's retry policy, as the modules declare it (kernel/module.ts `queues`). */
export type RetryPolicies = Readonly<Record<string, QueueOptions>>;

const DEFAULT_POLICY: QueueOptions = { attempts: 5, backoffMs: 500 };

function policyOf(policies: RetryPolicies, queue: string): QueueOptions {
  return policies[queue] ?? DEFAULT_POLICY;
}

/**
 * The handler as the kernel stores it. The payload is the one the queue's own producers wrote, the
 * module that declared the queue, so its handler may take it as the type it expects.
 */
function untyped<Data extends JobData>(handler: JobHandler<Data>): JobHandler {
  return handler as JobHandler;
}

function jobOptions(policies: RetryPolicies, request: JobRequest) {
  const { attempts, backoffMs } = policyOf(policies, request.queue);
  return {
    jobId: request.jobId,
    delay: Math.max(0, request.delayMs),
    attempts,
    backoff: { type: 'exponential' as const, delay: backoffMs },
    removeOnComplete: { age: 24 * 3600, count: 50_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

export class BullQueues implements JobQueues {
  readonly kind = 'bullmq' as const;
  private readonly queues = new Map<string, Queue>();
  private readonly workers: Worker[] = [];
  private readonly connections: Redis[] = [];
  private producer: Redis | undefined;

  constructor(
    private readonly url: string,
    private readonly prefix: string,
    private readonly logger: Logger,
    private readonly lockMs: number,
    private readonly shutdownMs: number,
    private readonly policies: RetryPolicies,
  ) {}

  private queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      // Producers fail fast while Redis is down; the outbox keeps the message until it is back.
      if (!this.producer) {
        this.producer = createRedis(this.url, 'request', this.logger);
        this.connections.push(this.producer);
      }
      queue = new Queue(name, { connection: this.producer, prefix: this.prefix });
      queue.on('error', (error) => this.logger.warn({ err: error.message, queue: name }, 'queue error'));
      this.queues.set(name, queue);
    }
    return queue;
  }

  async add(request: JobRequest) {
    await this.queue(request.queue).add(request.name, request.data, jobOptions(this.policies, request));
  }

  async addBulk(requests: JobRequest[]) {
    const queues = new Set(requests.map((request) => request.queue));
    await Promise.all(
      [...queues].map((name) =>
        this.queue(name).addBulk(requests.filter((r) => r.queue === name).map((request) => ({ name: request.name, data: request.data, opts: jobOptions(this.policies, request) }))),
      ),
    );
  }

  async redispatch(request: JobRequest) {
    const previous = await this.queue(request.queue).getJob(request.jobId);
    if (!previous) return this.add(request);
    const state = await previous.getState();
    if (state !== 'failed' && state !== 'completed') return;
    // Another process may be retrying it at the same moment: then it is running again, as wanted.
    await previous.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true }).catch(async () => {
      const now = await previous.getState();
      if (now === 'failed' || now === 'completed') throw new Error(`job ${request.jobId} stayed ${now} when handed over again`);
    });
  }

  work<Data extends JobData>(queue: string, typed: JobHandler<Data>, concurrency: number) {
    const handler = untyped(typed);
    const connection = createRedis(this.url, 'worker', this.logger);
    this.connections.push(connection);
    const worker = new Worker(
      queue,
      async (job: Job<JobData>) => {
        const attempts = job.opts.attempts ?? 1;
        await handler({ name: job.name, data: job.data, attempt: job.attemptsMade + 1, lastAttempt: job.attemptsMade + 1 >= attempts });
      },
      {
        connection,
        prefix: this.prefix,
        concurrency,
        lockDuration: this.lockMs,
        stalledInterval: Math.max(1000, Math.floor(this.lockMs / 2)),
        maxStalledCount: 5,
      },
    );
    worker.on('failed', (job, error) =>
      this.logger.warn({ queue, job: job?.name, data: job?.data, attempt: job?.attemptsMade, err: error.message }, 'job attempt failed'),
    );
    worker.on('error', (error) => this.logger.warn({ queue, err: error.message }, 'worker error'));
    this.workers.push(worker);
  }

  async counts(queue: string) {
    return this.queue(queue).getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
  }

  bullQueues(names: string[]) {
    return names.map((name) => this.queue(name));
  }

  /**
   * Workers finish their active jobs first, within the shutdown deadline. A job cut off after that
   * keeps its lock until it expires, and then another worker takes it over from the start.
   */
  async close() {
    // Without a live connection no job can be active here, and BullMQ's own close would wait for one.
    if (!this.connections.some((connection) => connection.status === 'ready')) {
      for (const connection of this.connections) connection.disconnect();
      return;
    }
    const deadline = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), this.shutdownMs).unref());
    const closed = Promise.all([...this.workers.map((worker) => worker.close()), ...[...this.queues.values()].map((queue) => queue.close())]);
    if ((await Promise.race([closed, deadline])) === 'late') {
      this.logger.warn({ deadlineMs: this.shutdownMs }, 'jobs still active at the shutdown deadline; leaving them to another worker');
      for (const worker of this.workers) void worker.close(true).catch(() => undefined);
    }
    for (const connection of this.connections) connection.disconnect();
  }
}

/** Local-development stand-in for BullMQ: timers and retries in this process, nothing durable. */
export class InProcessQueues implements JobQueues {
  readonly kind = 'in-process' as const;
  private readonly handlers = new Map<string, JobHandler>();
  private readonly pending = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly done = { completed: 0, failed: 0 };
  private active = 0;
  private closed = false;

  constructor(
    private readonly logger: Logger,
    private readonly policies: RetryPolicies,
  ) {}

  async add(request: JobRequest) {
    const key = `${request.queue}:${request.jobId}`;
    if (this.pending.has(key)) return;
    this.pending.add(key);
    this.schedule(request, 1, request.delayMs, key);
  }

  async addBulk(requests: JobRequest[]) {
    for (const request of requests) await this.add(request);
  }

  /** A job here is forgotten once it finishes, so handing it over again is adding it. */
  async redispatch(request: JobRequest) {
    await this.add(request);
  }

  private schedule(request: JobRequest, attempt: number, delayMs: number, key: string) {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.run(request, attempt, key);
    }, delayMs);
    this.timers.add(timer);
  }

  private async run(request: JobRequest, attempt: number, key: string) {
    if (this.closed) return;
    const handler = this.handlers.get(request.queue);
    if (!handler) return this.schedule(request, attempt, 200, key);
    const { attempts, backoffMs } = policyOf(this.policies, request.queue);
    this.active += 1;
    try {
      await handler({ name: request.name, data: request.data, attempt, lastAttempt: attempt >= attempts });
      this.pending.delete(key);
      this.done.completed += 1;
    } catch (error) {
      this.logger.warn({ queue: request.queue, job: request.name, data: request.data, attempt, err: (error as Error).message }, 'job attempt failed');
      if (attempt < attempts && !(error instanceof UnrecoverableError)) {
        this.schedule(request, attempt + 1, backoffMs * 2 ** (attempt - 1), key);
      } else {
        this.pending.delete(key);
        this.done.failed += 1;
      }
    } finally {
      this.active -= 1;
    }
  }

  work<Data extends JobData>(queue: string, handler: JobHandler<Data>) {
    this.handlers.set(queue, untyped(handler));
  }

  async counts() {
    return { waiting: this.pending.size - this.active, active: this.active, delayed: 0, ...this.done };
  }

  bullQueues(): Queue[] {
    return [];
  }

  async close() {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
  }
}

/** Queue depth by state on /metrics, read when Prometheus scrapes. */
export function registerQueueMetrics(registry: Registry, jobs: JobQueues, queues: string[]) {
  new Gauge({
    name: 'bookstore_queue_jobs',
    help: 'Jobs per queue and state (waiting, active, delayed, failed, completed)',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      for (const queue of queues) {
        const counts = await jobs.counts(queue).catch(() => undefined);
        for (const [state, count] of Object.entries(counts ?? {})) this.set({ queue, state }, count);
      }
    },
  });
}
