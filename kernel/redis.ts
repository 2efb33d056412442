import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from './logger.js';

/**
 * `request` connections serve HTTP requests: when Redis is unreachable their commands fail at once
 * instead of queueing, so a request answers 503 instead of hanging. `worker` connections (BullMQ)
 * wait for Redis to come back, as BullMQ requires (`maxRetriesPerRequest: null`).
 */
export type RedisRole = 'request' | 'worker';

export function createRedis(url: string, role: RedisRole, logger: Logger, keyPrefix?: string): Redis {
  const options: RedisOptions = {
    lazyConnect: false,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 5000),
    ...(keyPrefix ? { keyPrefix } : {}),
    ...(role === 'request'
      ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 1000 }
      : { maxRetriesPerRequest: null, enableReadyCheck: true }),
  };
  const redis = new Redis(url, options);
  let healthy = true;
  redis.on('error', (error: Error) => {
    if (healthy) logger.warn({ err: error.message, role }, 'redis connection problem');
    healthy = false;
  });
  redis.on('ready', () => {
    if (!healthy) logger.info({ role }, 'redis connection restored');
    healthy = true;
  });
  return redis;
}

/** Gives a fresh connection a moment to come up, so the first requests do not fail for nothing. */
export async function whenReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(false), timeoutMs);
    const onReady = () => done(true);
    function done(ready: boolean) {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ready);
    }
    redis.on('ready', onReady);
  });
}
