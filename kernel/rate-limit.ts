import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { Problem } from './problem.js';

export interface RateLimitRule {
  /** Counter family, e.g. `login-email`; its keys are `ratelimit:<name>:<key>` (under the Redis key prefix). */
  name: string;
  limit: number;
  windowMs: number;
}

type CounterFactory = (rule: RateLimitRule) => RateLimiterAbstract;

/**
 * Fixed-window counters (rate-limiter-flexible). A request takes its point atomically before the work
 * the limit guards, so requests still in flight count and no burst, however it arrives, gets more
 * than the limit through. With Redis the counters are shared by every replica; without Redis (local
 * one-process run) they live in this process.
 */
export class RateLimiter {
  private readonly counters = new Map<string, RateLimiterAbstract>();

  constructor(private readonly counterFor: CounterFactory) {}

  /**
   * Takes one of the window's points for `key`, or refuses with `429 rate_limited` and Retry-After when
   * none is left. A refusal hands back the point its attempt added, so a count is always of what was
   * let through (or is still running), not of how hard a client pushed.
   */
  async take(rule: RateLimitRule, key: string, detail?: string): Promise<void> {
    try {
      await this.counter(rule).consume(key);
    } catch (outcome) {
      if (!(outcome instanceof RateLimiterRes)) throw unavailable();
      await this.giveBack(rule, key);
      throw rateLimited(Math.max(1, Math.ceil(outcome.msBeforeNext / 1000)), detail);
    }
  }

  /** Hands back a point that `take` took, for work that turned out not to count. */
  async giveBack(rule: RateLimitRule, key: string): Promise<void> {
    await this.guard(() => this.counter(rule).reward(key));
  }

  /** Forgets the window: every point is available again. */
  async reset(rule: RateLimitRule, key: string): Promise<void> {
    await this.guard(() => this.counter(rule).delete(key));
  }

  private counter(rule: RateLimitRule): RateLimiterAbstract {
    let counter = this.counters.get(rule.name);
    if (!counter) {
      counter = this.counterFor(rule);
      this.counters.set(rule.name, counter);
    }
    return counter;
  }

  private async guard(command: () => Promise<unknown>): Promise<void> {
    try {
      await command();
    } catch {
      throw unavailable();
    }
  }
}

const counterOptions = (rule: RateLimitRule) => ({
  keyPrefix: `ratelimit:${rule.name}`,
  points: rule.limit,
  duration: Math.ceil(rule.windowMs / 1000),
});

/** Counters in Redis (a Lua script per take), under the connection's key prefix. */
export class RedisRateLimiter extends RateLimiter {
  constructor(redis: Redis) {
    // No insurance limiter: a replica counting on its own would multiply every limit by the replica count.
    super((rule) => new RateLimiterRedis({ storeClient: redis, rejectIfRedisNotReady: true, ...counterOptions(rule) }));
  }
}

export class MemoryRateLimiter extends RateLimiter {
  constructor() {
    super((rule) => new RateLimiterMemory(counterOptions(rule)));
  }
}

function rateLimited(retryAfterSeconds: number, detail = 'Too many attempts; try again later.') {
  return new Problem(429, 'rate_limited', detail, undefined, { 'Retry-After': String(retryAfterSeconds) });
}

/** Without its counters the store cannot tell an attack from a user: it refuses rather than guess. */
function unavailable() {
  return new Problem(503, 'service_unavailable', 'Rate limiting is unavailable right now; try again shortly.', undefined, { 'Retry-After': '5' });
}
