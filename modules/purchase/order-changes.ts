import { createHash } from 'node:crypto';
import { BroadcastChannel } from 'node:worker_threads';
import { Broadcast } from '../../kernel/broadcast.js';
import type { ModuleContext } from '../../kernel/module.js';

/*
 * "This order may have moved": what the order's writers (order-flow.ts, in the purchase service and
 * in the payment and delivery workers) tell whoever follows an order live (GET /orders/{id}/events).
 * A message carries only the order's id; a follower reads the order again from the database and
 * sends what it has not sent yet, so a message heard twice costs one read and a lost one is made up
 * for by the follower's own periodic read (its heartbeat).
 *
 * It reaches three kinds of follower:
 *  - this module instance's own, directly;
 *  - the other order modules' instances in this process (the all-in-one run sets up the purchase
 *    module and both workers side by side, each with an instance of its own, and without Redis the
 *    workers' moves must still reach the purchase module's followers): a process-local
 *    BroadcastChannel, named after the store's database so that two stores in one test process
 *    stay apart;
 *  - every other process of the store, over Redis pub/sub (kernel/broadcast.ts) when REDIS_URL is set.
 *
 * Only an instance with followers listens (the purchase module's, once a stream opens): the workers
 * announce and never open a subscriber.
 */

/** What a follower waits for: a possible change, `quietMs` without one, or the end of following (shutdown). */
export type WatchOutcome = 'changed' | 'quiet' | 'ended';

/** One follower of one order. */
export interface OrderWatch {
  readonly orderId: string;
  /** Resolves at the first change since the last call, or after `quietMs`, or when following ends. */
  next(quietMs: number): Promise<WatchOutcome>;
  /** The follower left (the client went away, the stream ended): forgets it. */
  close(): void;
}

class Watch implements OrderWatch {
  private changed = false;
  private ended = false;
  private wakeUp: (() => void) | undefined;

  constructor(
    readonly orderId: string,
    private readonly forget: (watch: Watch) => void,
  ) {}

  /** The order may have changed: a wait in progress returns now, a later one at once. */
  wake(): void {
    this.changed = true;
    this.wakeUp?.();
  }

  /** Following is over (shutdown, or the follower closed). */
  end(): void {
    this.ended = true;
    this.wakeUp?.();
  }

  close(): void {
    if (this.ended) return;
    this.forget(this);
    this.end();
  }

  async next(quietMs: number): Promise<WatchOutcome> {
    if (!this.changed && !this.ended) await this.waitUpTo(quietMs);
    if (this.ended) return 'ended';
    if (!this.changed) return 'quiet';
    this.changed = false;
    return 'changed';
  }

  private waitUpTo(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}

/** Tells the followers of an order, here and in every process of the store, that it may have moved. */
export class OrderChanges {
  private readonly watches = new Map<string, Set<Watch>>();
  private count = 0;
  private listening = false;
  private stopped = false;
  private readonly pubsub: Broadcast | undefined;
  private readonly process: BroadcastChannel;

  constructor(ctx: ModuleContext) {
    const channel = `${ctx.config.redisKeyPrefix}purchase:order-changed`;
    this.pubsub = ctx.config.redisUrl ? new Broadcast(ctx.config.redisUrl, ctx.redis, channel, ctx.logger) : undefined;
    this.process = new BroadcastChannel(`${channel}:${storeIdentity(ctx)}`);
    // Never what keeps a process alive.
    this.process.unref();
  }

  /**
   * After a committed move of the order: its followers here at once, the other order modules of this
   * process and (with Redis) every other process. Never throws: the move is done whatever happens here.
   */
  announce(orderId: string): void {
    void this.pubsub?.publish(orderId);
    // Stopped: nobody here follows any more, but a job that finishes while the process stops still tells the others.
    if (this.stopped) return;
    this.notify(orderId);
    this.process.postMessage(orderId);
  }

  /** Follows one order until `close()`; the first follower makes this instance listen. */
  watch(orderId: string): OrderWatch {
    const watch = new Watch(orderId, (closed) => this.forget(closed));
    if (this.stopped) {
      watch.end();
      return watch;
    }
    this.listen();
    const followers = this.watches.get(orderId) ?? new Set<Watch>();
    this.watches.set(orderId, followers.add(watch));
    this.count += 1;
    return watch;
  }

  /** Followers now (open event streams, in the purchase module). */
  get listenerCount(): number {
    return this.count;
  }

  /** Ends every follower and stops listening; announcements after this go to the other processes only. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const followers of this.watches.values()) for (const watch of followers) watch.end();
    this.watches.clear();
    this.count = 0;
    this.pubsub?.stop();
    this.process.close();
  }

  private listen(): void {
    if (this.listening) return;
    this.listening = true;
    this.process.onmessage = (event) => this.notify(String(event.data));
    // A message sent while this process was cut off from Redis never arrives: on every
    // (re)connection every follower reads its order again.
    this.pubsub?.listen((orderId) => this.notify(orderId), () => this.wakeAll());
  }

  private notify(orderId: string): void {
    for (const watch of this.watches.get(orderId) ?? []) watch.wake();
  }

  private wakeAll(): void {
    for (const followers of this.watches.values()) for (const watch of followers) watch.wake();
  }

  private forget(watch: Watch): void {
    const followers = this.watches.get(watch.orderId);
    if (!followers?.delete(watch)) return;
    this.count -= 1;
    if (followers.size === 0) this.watches.delete(watch.orderId);
  }
}

/** The same for every module of one store in this process, different for two stores on different data. */
function storeIdentity(ctx: ModuleContext): string {
  const { database } = ctx.config;
  const where = database.kind === 'mysql' ? database.url : database.file;
  // Hashed: the channel's name need not carry the database's password.
  return createHash('sha256').update(`${where}\n${ctx.config.redisKeyPrefix}`).digest('hex').slice(0, 16);
}
