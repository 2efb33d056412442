import { afterEach, describe, expect, it, vi } from 'vitest';
import { Broadcast } from '../kernel/broadcast.js';
import { createLogger } from '../kernel/logger.js';
import { SESSION_CACHE_MS, SessionCache } from '../kernel/session-cache.js';
import type { ResolvedSession } from '../kernel/auth-context.js';

const session = (sessionId: string, expiresInMs = 60_000): ResolvedSession => ({
  sessionId,
  user: { id: 1, name: 'A', email: 'a@example.test', role: 'customer', createdAt: new Date(0).toISOString() },
  expiresAt: new Date(Date.now() + expiresInMs).toISOString(),
  renewed: true,
});

describe('SessionCache', () => {
  afterEach(() => vi.useRealTimers());

  it('in a single process without Redis: reuses a session for a few seconds, never past its expiry, and forgets it at logout', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const cache = new SessionCache(undefined);
    cache.remember('token-a', session('a'));
    cache.remember('token-b', session('b', 1_000));
    expect(cache.get('token-a')).toMatchObject({ sessionId: 'a', renewed: false });
    vi.setSystemTime(Date.now() + 1_000);
    expect(cache.get('token-b')).toBeUndefined();
    expect(cache.get('token-a')).toBeDefined();
    await cache.ended('a');
    expect(cache.get('token-a')).toBeUndefined();

    cache.remember('token-c', session('c'));
    vi.setSystemTime(Date.now() + SESSION_CACHE_MS);
    expect(cache.get('token-c')).toBeUndefined();
  });

  it('cut off from Redis, keeps nothing: a logout elsewhere could not reach it', () => {
    const broadcast = new Broadcast('redis://127.0.0.1:1', undefined, 'test:auth:session-ended', createLogger('silent'));
    const cache = new SessionCache(broadcast);
    cache.listen();
    try {
      expect(broadcast.live).toBe(false);
      cache.remember('token-a', session('a'));
      expect(cache.get('token-a')).toBeUndefined();
    } finally {
      cache.stop();
    }
  });
});
