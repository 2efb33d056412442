import type { Context } from 'hono';
import type { Config, ModuleName } from './config.js';
import { Problem } from './problem.js';
import { clientAddress, requestScheme } from './request.js';

type Fetch = (request: Request, env?: unknown) => Response | Promise<Response>;

/** What a page may add to the API call it makes for its visitor. */
export interface PublicCall {
  method?: string;
  /** A JSON body, sent as such. */
  json?: unknown;
  headers?: Record<string, string>;
}

/** The visitor's headers that the API must see as theirs: who they are, where they came from, what they read. */
const PASSED_ON = ['cookie', 'origin', 'accept-language', 'user-agent'];

/** How long a call to a module in another process may take before the page says the store is busy. */
const REMOTE_TIMEOUT_MS = 10_000;

/**
 * The public API (`/api/<module>/…`) as a browser would call it, for pages that act on a visitor's
 * behalf: the visitor's cookie, `Origin` and address go with the call, so the API's own checks
 * (sessions, Origin, rate limits per address, ownership) apply exactly as to a direct call. A module
 * running in this process is called through the app in memory; one elsewhere at its `<NAME>_URL`,
 * whose process must trust `X-Forwarded-For` (`TRUST_PROXY=true`, as behind NGINX).
 */
export class PublicApi {
  private local: Fetch | undefined;

  constructor(
    private readonly config: Pick<Config, 'modules' | 'serviceUrls' | 'trustProxy'>,
  ) {}

  /** The app of this process, once built (it is built after the modules that call it). */
  serveFrom(fetch: Fetch) {
    this.local = fetch;
  }

  /** Calls `path` (`/api/<module>/…`, with its query) for the visitor of `c`. */
  async call(c: Context, path: string, call: PublicCall = {}): Promise<Response> {
    const module: ModuleName = path.split('/')[2] ?? '';
    const init: RequestInit = { method: call.method ?? 'GET', headers: this.headersFor(c, call) };
    if (call.json !== undefined) init.body = JSON.stringify(call.json);
    if (this.config.modules.includes(module) && this.local) {
      // In memory the API reads the visitor's Host (its idea of the store's origin) and socket (c.env).
      const headers = init.headers as Headers;
      const host = c.req.header('host');
      if (host) headers.set('host', host);
      // As fetch would send it over the network: the API tells a body from none by its length.
      if (typeof init.body === 'string') headers.set('content-length', String(Buffer.byteLength(init.body)));
      return this.local(new Request(new URL(path, c.req.url), init), c.env);
    }
    const url = this.config.serviceUrls[module];
    if (!url) throw new Error(`module ${module} does not run in this process and has no URL`);
    try {
      return await fetch(`${url}${path}`, { ...init, signal: AbortSignal.timeout(REMOTE_TIMEOUT_MS) });
    } catch {
      throw new Problem(503, 'service_unavailable', 'Part of the store is not answering right now; try again shortly.', undefined, { 'Retry-After': '5' });
    }
  }

  private headersFor(c: Context, call: PublicCall): Headers {
    const headers = new Headers();
    for (const name of PASSED_ON) {
      const value = c.req.header(name);
      if (value !== undefined) headers.set(name, value);
    }
    headers.set('x-forwarded-host', (this.config.trustProxy && c.req.header('x-forwarded-host')) || c.req.header('host') || new URL(c.req.url).host);
    headers.set('x-forwarded-proto', requestScheme(c, this.config.trustProxy));
    headers.set('x-forwarded-for', clientAddress(c, this.config.trustProxy));
    const requestId = c.get('requestId');
    if (typeof requestId === 'string') headers.set('x-request-id', requestId);
    if (call.json !== undefined) headers.set('content-type', 'application/json');
    for (const [name, value] of Object.entries(call.headers ?? {})) headers.set(name, value);
    return headers;
  }
}
