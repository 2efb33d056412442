import type { Redis } from 'ioredis';
import { Problem } from './problem.js';

export interface RateLimitRule {
  /** Counter family, e.g. `login-email`. */
  name: string;
  limit: number;
  windowMs: number;
}

export interface RateLimitState {
  count: number;
  retryAfterSeconds: number;
}

/**
 * Fixed-window counters. With Redis they are shared by every replica, so a limit holds however many
 * instances run; without Redis (local one-process run) they live in memory.
 */
export interface RateLimiter {
  /** Counts one more event and returns the total in the current window. */
  hit(rule: RateLimitRule, key: string): Promise<RateLimitState>;
  /** The current count, without counting. */
  peek(rule: RateLimitRule, key: string): Promise<RateLimitState>;
  reset(rule: RateLimitRule, key: string): Promise<void>;
}

const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}`;

const PEEK_SCRIPT = `
local count = redis.call('GET', KEYS[1])
return {tonumber(count or '0'), redis.call('PTTL', KEYS[1])}`;

function toState(reply: unknown, windowMs: number): RateLimitState {
  const [count, ttl] = reply as [number, number];
  return { count, retryAfterSeconds: Math.max(1, Math.ceil((ttl > 0 ? ttl : windowMs) / 1000)) };
}

export class RedisRateLimiter implements RateLimiter {
  constructor(private readonly redis: Redis) {}

  private key(rule: RateLimitRule, key: string) {
    return `ratelimit:${rule.name}:${key}`;
  }

  async hit(rule: RateLimitRule, key: string) {
    return toState(await this.guard(() => this.redis.eval(HIT_SCRIPT, 1, this.key(rule, key), rule.windowMs)), rule.windowMs);
  }

  async peek(rule: RateLimitRule, key: string) {
    return toState(await this.guard(() => this.redis.eval(PEEK_SCRIPT, 1, this.key(rule, key))), rule.windowMs);
  }

  async reset(rule: RateLimitRule, key: string) {
    await this.guard(() => this.redis.del(this.key(rule, key)));
  }

  /** Without its counters the store cannot tell an attack from a user: it refuses rather than guess. */
  private async guard<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch {
      throw new Problem(503, 'service_unavailable', 'Rate limiting is unavailable right now; try again shortly.', undefined, { 'Retry-After': '5' });
    }
  }
}

export class MemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  private current(rule: RateLimitRule, key: string) {
    const id = `${rule.name}:${key}`;
    const now = Date.now();
    let window = this.windows.get(id);
    if (!window || window.resetAt <= now) {
      window = { count: 0, resetAt: now + rule.windowMs };
      this.windows.set(id, window);
    }
    if (this.windows.size > 50_000) this.sweep(now);
    return window;
  }

  private sweep(now: number) {
    for (const [id, window] of this.windows) if (window.resetAt <= now) this.windows.delete(id);
  }

  private state(window: { count: number; resetAt: number }): RateLimitState {
    return { count: window.count, retryAfterSeconds: Math.max(1, Math.ceil((window.resetAt - Date.now()) / 1000)) };
  }

  async hit(rule: RateLimitRule, key: string) {
    const window = this.current(rule, key);
    window.count += 1;
    return this.state(window);
  }

  async peek(rule: RateLimitRule, key: string) {
    return this.state(this.current(rule, key));
  }

  async reset(rule: RateLimitRule, key: string) {
    this.windows.delete(`${rule.name}:${key}`);
  }
}

export function rateLimited(retryAfterSeconds: number, detail = 'Too many attempts; try again later.') {
  return new Problem(429, 'rate_limited', detail, undefined, { 'Retry-After': String(retryAfterSeconds) });
}
