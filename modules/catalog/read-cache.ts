import { createHash } from 'node:crypto';
import type { Broadcast } from '../../kernel/broadcast.js';

/** A JSON answer ready to send, with its validator, so a hit costs no serialising and no hashing. */
export interface CachedAnswer {
  body: string;
  etag: string;
}

/**
 * `listing`: a book was listed, changed or removed; anything known may be wrong.
 * `stock`: only stock moved (an order reserved it or gave it back); counts that do not filter on
 * stock still hold, which is what keeps totals cached while people are buying.
 */
export type CatalogChange = 'listing' | 'stock';

interface Entry {
  value: CachedAnswer | number;
  dependsOnStock: boolean;
  bytes: number;
  expiresAt: number;
}

/**
 * A safety net, not the invalidation: changes are announced (see CatalogChanges), and this bounds
 * what a replica serves if an announcement is lost (Redis unreachable, or several processes without Redis).
 */
export const MAX_AGE_MS = 10_000;

/**
 * Catalog reads answered from memory between catalog changes. Browsing and search are what the
 * store serves most, and the catalog changes rarely by comparison; counting 100,000 books for every
 * page is the work done once here. A change forgets what it may have made wrong (see
 * CatalogChange), so an answer is never older than the last change this process has heard of.
 * Concurrent misses for one key share one database read. Memory is bounded by `maxBytes`, least
 * recently used first out.
 */
export class CatalogReadCache {
  private listingGeneration = 0;
  private stockGeneration = 0;
  private bytes = 0;
  /** Insertion order is recency order: a hit is moved to the back, eviction takes from the front. */
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<CachedAnswer | number>>();

  constructor(private readonly maxBytes: number) {}

  /** The serialised answer for `key`, computing it with `read` when it is not known. Every answer shows stock. */
  answer(key: string, read: () => Promise<object>): Promise<CachedAnswer> {
    return this.remember(`answer ${key}`, true, async () => toAnswer(await read())) as Promise<CachedAnswer>;
  }

  /**
   * Like `answer`, for a resource that names its own validator (a book: its version). The ETag is
   * kept with the very bytes read with it, so a version is never served with another's body.
   */
  tagged(key: string, read: () => Promise<{ value: object; etag: string }>): Promise<CachedAnswer> {
    return this.remember(`answer ${key}`, true, async () => {
      const { value, etag } = await read();
      return { body: JSON.stringify(value), etag };
    }) as Promise<CachedAnswer>;
  }

  /** The answer for `key` if it is known, without reading anything. */
  peek(key: string): CachedAnswer | undefined {
    const value = this.fresh(`answer ${key}`)?.value;
    return typeof value === 'object' ? value : undefined;
  }

  /** A count of listed books for one filter, shared by every page and sort of that filter. */
  total(key: string, dependsOnStock: boolean, count: () => Promise<number>): Promise<number> {
    return this.remember(`total ${key}`, dependsOnStock, count) as Promise<number>;
  }

  /** Drops what `change` may have made wrong, and makes reads already under way forget their result. */
  forget(change: CatalogChange) {
    if (change === 'listing') {
      this.listingGeneration += 1;
      this.entries.clear();
      this.bytes = 0;
      return;
    }
    this.stockGeneration += 1;
    for (const [key, entry] of this.entries) {
      if (entry.dependsOnStock) this.drop(key, entry);
    }
  }

  get size() {
    return { entries: this.entries.size, bytes: this.bytes };
  }

  private remember(key: string, dependsOnStock: boolean, read: () => Promise<CachedAnswer | number>): Promise<CachedAnswer | number> {
    if (this.maxBytes === 0) return read();
    const hit = this.fresh(key);
    if (hit) return Promise.resolve(hit.value);
    const generations = `${this.listingGeneration}.${dependsOnStock ? this.stockGeneration : '-'}`;
    const pendingKey = `${generations} ${key}`;
    const running = this.pending.get(pendingKey);
    if (running) return running;
    const reading = read()
      .then((value) => {
        // A change heard of while the database was being read makes this value stale already.
        if (generations === `${this.listingGeneration}.${dependsOnStock ? this.stockGeneration : '-'}`) this.store(key, value, dependsOnStock);
        return value;
      })
      .finally(() => this.pending.delete(pendingKey));
    this.pending.set(pendingKey, reading);
    return reading;
  }

  private fresh(key: string): Entry | undefined {
    const hit = this.entries.get(key);
    if (!hit || hit.expiresAt <= Date.now()) return undefined;
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit;
  }

  private store(key: string, value: CachedAnswer | number, dependsOnStock: boolean) {
    const bytes = key.length + (typeof value === 'number' ? 8 : value.body.length + value.etag.length);
    if (bytes > this.maxBytes / 4) return;
    const previous = this.entries.get(key);
    if (previous) this.drop(key, previous);
    this.entries.set(key, { value, dependsOnStock, bytes, expiresAt: Date.now() + MAX_AGE_MS });
    this.bytes += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.drop(oldest, entry);
    }
  }

  private drop(key: string, entry: Entry) {
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }
}

function toAnswer(value: object): CachedAnswer {
  const body = JSON.stringify(value);
  return { body, etag: `W/"${createHash('sha1').update(body).digest('hex')}"` };
}

const isChange = (text: string): text is CatalogChange => text === 'listing' || text === 'stock';

/**
 * Shares catalog changes between catalog processes (kernel/broadcast.ts), so that a listing changed
 * through one replica is not served stale by another. Without Redis there is only this process
 * (or staleness up to MAX_AGE_MS between processes, see docs/deploy.md).
 */
export class CatalogChanges {
  constructor(
    readonly cache: CatalogReadCache,
    private readonly broadcast: Broadcast,
  ) {}

  listen() {
    // While cut off from Redis, changes were missed: forget everything on every (re)connection.
    this.broadcast.listen((change) => this.cache.forget(isChange(change) ? change : 'listing'), () => this.cache.forget('listing'));
  }

  /** After a committed write: forget here at once, then tell the other processes. */
  async announce(change: CatalogChange) {
    this.cache.forget(change);
    await this.broadcast.publish(change);
  }

  stop() {
    this.broadcast.stop();
  }
}
