import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';

/**
 * The client's address. Behind our own NGINX (`TRUST_PROXY=true`) it is the last hop NGINX appended
 * to X-Forwarded-For; a client cannot forge that entry, only the ones before it.
 */
export function clientAddress(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const hops = c.req.header('x-forwarded-for')?.split(',').map((hop) => hop.trim()).filter(Boolean);
    const last = hops?.at(-1);
    if (last) return last;
  }
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The scheme the client used: the proxy's word when trusted, else our own. */
export function requestScheme(c: Context, trustProxy: boolean): 'http' | 'https' {
  const forwarded = trustProxy ? c.req.header('x-forwarded-proto')?.split(',')[0]?.trim() : undefined;
  if (forwarded === 'https' || forwarded === 'http') return forwarded;
  return new URL(c.req.url).protocol === 'https:' ? 'https' : 'http';
}

/** The store's own origin: `PUBLIC_URL` when set, else the request's host and scheme. */
export function storeOrigin(c: Context, publicUrl: string | undefined, trustProxy: boolean): string {
  if (publicUrl) return publicUrl;
  const host = (trustProxy && c.req.header('x-forwarded-host')) || c.req.header('host') || new URL(c.req.url).host;
  const origin = `${requestScheme(c, trustProxy)}://${host}`;
  // As a browser writes it in Origin: without the scheme's default port (Host may carry `:443`).
  try {
    return new URL(origin).origin;
  } catch {
    return origin;
  }
}
