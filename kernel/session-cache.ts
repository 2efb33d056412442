import type { ResolvedSession } from './auth-context.js';
import type { Broadcast } from './broadcast.js';

/** How long a resolved session is used again without asking the module that provides sessions. */
export const SESSION_CACHE_MS = 5_000;
const MAX_SESSIONS = 10_000;

/**
 * Sessions resolved in the last few seconds, so that a signed-in request costs no call to the module
 * that provides sessions (a query, or an HTTP call when it runs elsewhere). A logout forgets its session in every
 * process before it answers, over a broadcast. So the cache is used only where every logout reaches
 * it: in a store without Redis, where this process is the only one (no broadcast), or while the
 * broadcast is live; a process cut off from Redis asks that module on every request.
 */
export class SessionCache {
  private readonly entries = new Map<string, { session: ResolvedSession; until: number }>();

  constructor(private readonly broadcast: Broadcast | undefined) {}

  private get usable(): boolean {
    return this.broadcast ? this.broadcast.live : true;
  }

  get(token: string): ResolvedSession | undefined {
    if (!this.usable) return undefined;
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (entry.until > Date.now()) return entry.session;
    this.entries.delete(token);
    return undefined;
  }

  remember(token: string, session: ResolvedSession) {
    if (!this.usable) return;
    const oldest = this.entries.keys().next();
    if (this.entries.size >= MAX_SESSIONS && !oldest.done) this.entries.delete(oldest.value);
    // A renewal re-issues the cookie once, on the request that renewed it.
    this.entries.set(token, { session: { ...session, renewed: false }, until: Math.min(Date.now() + SESSION_CACHE_MS, Date.parse(session.expiresAt)) });
  }

  /** A session ended (logout): forgotten here, then in every other process. */
  async ended(sessionId: string) {
    this.forget(sessionId);
    await this.broadcast?.publish(sessionId);
  }

  listen() {
    // Cut off from Redis, logouts elsewhere were missed: start afresh on every (re)connection.
    this.broadcast?.listen((sessionId) => this.forget(sessionId), () => this.entries.clear());
  }

  stop() {
    this.broadcast?.stop();
  }

  private forget(sessionId: string) {
    for (const [token, entry] of this.entries) {
      if (entry.session.sessionId === sessionId) this.entries.delete(token);
    }
  }
}
