import { Hono } from 'hono';
import { timingSafeEqual } from 'node:crypto';
import type { ModuleName } from './config.js';
import { Problem, type ProblemDocument } from './problem.js';

/**
 * A module's internal API: named operations that take one JSON value and answer one.
 * Other modules call it through `InternalClients.api()`: a direct call when the owner runs in the same
 * process, `POST /internal/<module>/<operation>` with the service token when it does not.
 *
 * Every operation must be safe to repeat with the same input (a read, or a write keyed by its input
 * that a second time finds done): a call whose connection broke before an answer came is sent once
 * more, and the first one may have been carried out.
 */
export type InternalApi = object;
type Operation = (input: unknown) => Promise<unknown>;

export const INTERNAL_TOKEN_HEADER = 'x-internal-token';

export function tokensMatch(expected: string | undefined, given: string | undefined): boolean {
  if (!expected || !given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Serves a module's internal API; refuses every call that lacks the service token. */
export function internalRoutes(api: InternalApi, operations: readonly string[], token: string | undefined): Hono {
  const app = new Hono();
  app.use('*', async (c, next) => {
    if (!tokensMatch(token, c.req.header(INTERNAL_TOKEN_HEADER))) {
      throw new Problem(401, 'unauthorized', 'A valid service token is required.');
    }
    await next();
  });
  for (const operation of operations) {
    app.post(`/${operation}`, async (c) => {
      const input: unknown = await c.req.json().catch(() => {
        throw new Problem(400, 'malformed_json', 'Internal calls carry a JSON body.');
      });
      const output = await (api as Record<string, Operation>)[operation]!(input);
      return c.json({ result: output ?? null });
    });
  }
  return app;
}

/**
 * Failures before any answer came, which another connection may not meet: refused (the task is
 * gone or not listening yet), reset or closed under the request (a task stopping, a keep-alive
 * connection closed just as it was reused), no route to a task that has left. A timeout is not among
 * them: the call may still be running, and waiting again would double the wait.
 */
const CONNECTION_FAILURES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

function connectionFailed(error: unknown): boolean {
  const cause = error instanceof Error ? error.cause : undefined;
  const code = cause instanceof Error && 'code' in cause ? cause.code : undefined;
  return typeof code === 'string' && CONNECTION_FAILURES.has(code);
}

/** A short pause before the one retry, so it does not land on the same closing connection. */
const RETRY_DELAY_MS = 50;

/** Calls another process's internal API over HTTP. */
export class InternalClient {
  constructor(
    private readonly module: ModuleName,
    private readonly baseUrl: string,
    private readonly token: string,
    private readonly timeoutMs = 5000,
  ) {}

  async call(operation: string, input: unknown): Promise<unknown> {
    const response = await this.send(operation, input).catch(async (error: unknown) => {
      // Once, on a new connection (and a new DNS lookup): operations are safe to repeat (above).
      if (!connectionFailed(error)) throw this.unavailable();
      await new Promise((done) => setTimeout(done, RETRY_DELAY_MS));
      return this.send(operation, input).catch(() => {
        throw this.unavailable();
      });
    });
    if (response.ok) return ((await response.json()) as { result: unknown }).result;
    if (response.status >= 500 || response.status === 401) throw this.unavailable();
    throw Problem.fromDocument((await response.json()) as ProblemDocument);
  }

  private send(operation: string, input: unknown): Promise<Response> {
    return fetch(`${this.baseUrl}/internal/${this.module}/${operation}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [INTERNAL_TOKEN_HEADER]: this.token },
      body: JSON.stringify(input),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
  }

  private unavailable() {
    return new Problem(503, 'service_unavailable', `The ${this.module} service is unavailable right now; try again shortly.`, undefined, {
      'Retry-After': '2',
    });
  }
}

export function remoteApi<Api>(client: InternalClient, operations: readonly (keyof Api & string)[]): Api {
  return Object.fromEntries(operations.map((operation) => [operation, (input: unknown) => client.call(operation, input)])) as Api;
}

/** The internal API of every other module, for this process: called here, or over HTTP behind its URL. */
export class InternalClients {
  private readonly local = new Map<ModuleName, InternalApi>();

  constructor(
    private readonly urls: Partial<Record<ModuleName, string>>,
    private readonly token: string | undefined,
  ) {}

  provide(module: ModuleName, api: InternalApi) {
    this.local.set(module, api);
  }

  /** Whether this process can call the module at all: it runs here, or its URL is configured. */
  reachable(module: ModuleName) {
    return this.local.has(module) || Boolean(this.urls[module] && this.token);
  }

  api<Api>(module: ModuleName, operations: readonly (keyof Api & string)[]): Api {
    const local = this.local.get(module);
    if (local) return local as Api;
    const url = this.urls[module];
    if (!url || !this.token) throw new Error(`module ${module} does not run in this process and has no URL`);
    return remoteApi<Api>(new InternalClient(module, url, this.token), operations);
  }
}
