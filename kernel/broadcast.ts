import type { Redis } from 'ioredis';
import type { Logger } from './logger.js';
import { createRedis } from './redis.js';

/**
 * One Redis pub/sub channel shared by all the store's processes, for "forget what you remember":
 * a change to data a module keeps in memory, a session that ended. Without Redis there is only this process to tell.
 * Messages sent while a process is cut off from Redis never reach it, so `onReconnect` runs on every
 * (re)connection and `live` says whether messages can arrive right now.
 */
export class Broadcast {
  private subscriber: Redis | undefined;

  constructor(
    private readonly redisUrl: string | undefined,
    private readonly publisher: Redis | undefined,
    private readonly channel: string,
    private readonly logger: Logger,
  ) {}

  /** Listens on a connection of its own (a subscribed connection can do nothing else); does not wait for Redis. */
  listen(onMessage: (message: string) => void, onReconnect: () => void) {
    if (!this.redisUrl) return;
    const subscriber = createRedis(this.redisUrl, 'worker', this.logger);
    this.subscriber = subscriber;
    subscriber.on('ready', onReconnect);
    subscriber.on('message', (_channel: string, message: string) => onMessage(message));
    subscriber.subscribe(this.channel).catch((error: Error) => {
      if (this.subscriber) this.logger.warn({ err: error.message, channel: this.channel }, 'broadcast: not listening');
    });
  }

  /** Whether a message published now by another process would reach this one. */
  get live(): boolean {
    return this.subscriber?.status === 'ready';
  }

  async publish(message: string) {
    await this.publisher?.publish(this.channel, message).catch((error: Error) => this.logger.warn({ err: error.message, channel: this.channel }, 'broadcast: not sent'));
  }

  stop() {
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    subscriber?.disconnect();
  }
}
