import { createHash } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { etag } from 'hono/etag';
import { createMiddleware } from 'hono/factory';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import { matchedRoutes } from 'hono/route';
import { generateSpecs } from 'hono-openapi';
import type { Redis } from 'ioredis';
import { SESSION_COOKIE, authContext, type Caller, type ResolvedSession, type SessionResolver } from './auth-context.js';
import type { Config } from './config.js';
import { databaseAnswers, databaseUnreachable } from './database.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { Database, EntityManager } from './module.js';
import { Problem, notFound, problemResponse } from './problem.js';
import type { SessionCache } from './session-cache.js';
import { requireJsonBody } from './validation.js';

export type AppEnv = {
  Variables: {
    em: EntityManager;
    requestId: string;
    credentials?: 'bearer' | 'cookie';
    caller?: Caller;
    session?: ResolvedSession;
    token?: string;
  };
};

export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Sent with every answer (the defaults of hono's secureHeaders, with a same-site resource policy).
 * They are set on Node's response by the server (kernel/store.ts), where a route's own header of
 * the same name still wins, instead of being validated and copied into every fetch Response.
 */
export const SECURITY_HEADERS: readonly [string, string][] = [
  ['Cross-Origin-Resource-Policy', 'same-site'],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Origin-Agent-Cluster', '?1'],
  ['Referrer-Policy', 'no-referrer'],
  ['Strict-Transport-Security', 'max-age=15552000; includeSubDomains'],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-DNS-Prefetch-Control', 'off'],
  ['X-Download-Options', 'noopen'],
  ['X-Frame-Options', 'SAMEORIGIN'],
  ['X-Permitted-Cross-Domain-Policies', 'none'],
  ['X-XSS-Protection', '0'],
];

/** Nothing an API answer contains may load or frame anything; pages with a UI bring their own policy. */
export const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

/**
 * The API reference page's own policy: its script, the OpenAPI document and any request sent from
 * the page go to the store itself, and nothing else loads. The script adds its stylesheet as
 * <style> elements and sets style attributes, hence 'unsafe-inline' for styles (never for scripts:
 * the page has no inline script; its settings are data attributes the script reads).
 */
export const API_REFERENCE_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

export interface MountedModule {
  name: string;
  description: string | undefined;
  routes: Hono<AppEnv> | undefined;
  pages: Hono<AppEnv> | undefined;
  internal: Hono | undefined;
}

export interface AppParts {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  db: Database;
  redis: Redis | undefined;
  modules: MountedModule[];
  /** Every problem code an answer may carry (the kernel's and each module's), for the API reference. */
  problemCodes: readonly string[];
  /** How a client gets a session token, for the API reference; unset when no module provides sessions. */
  signIn: string | undefined;
  sessionResolver: () => SessionResolver;
  sessionCache: SessionCache | undefined;
  /** True once the process is shutting down: it still answers, but is no longer ready. */
  draining: () => boolean;
}

/** The label for metrics and logs: the matched route pattern, never the raw path (ids would explode it). */
function routeLabel(c: Context): string {
  const endpoint = matchedRoutes(c).findLast((route) => route.method !== 'ALL');
  return endpoint?.path ?? 'unmatched';
}

function accessLog(logger: Logger, metrics: Metrics): MiddlewareHandler<AppEnv> {
  return createMiddleware<AppEnv>(async (c, next) => {
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    const labels = { method: c.req.method, route: routeLabel(c), status: String(c.res.status) };
    metrics.requests.inc(labels);
    metrics.duration.observe(labels, seconds);
    logger.info(
      { requestId: c.var.requestId, method: labels.method, route: labels.route, path: c.req.path, status: c.res.status, durationMs: Math.round(seconds * 10000) / 10 },
      'request',
    );
  });
}

const weakEtag = etag({ weak: true });

/**
 * Validators for public reads: an ETag, and If-None-Match answered with 304 (weak comparison).
 * Anonymous answers are cacheable; signed-in ones are not stored anywhere. A signed-in answer keeps
 * its ETag only when it is `sameForEveryone` (a resource whose ETag is its version, which its owner
 * sends back in If-Match); otherwise an answer served from a cache would carry a validator that a
 * personal answer must not.
 */
export function readValidators(sameForEveryone: boolean): MiddlewareHandler<AppEnv> {
  return createMiddleware<AppEnv>(async (c, next) => {
    c.header('Vary', 'Authorization, Cookie');
    if (!c.var.credentials) {
      await weakEtag(c, next);
      c.res.headers.set('Cache-Control', 'no-cache');
      return;
    }
    if (sameForEveryone) {
      await weakEtag(c, next);
    } else {
      await next();
      c.res.headers.delete('ETag');
    }
    c.res.headers.set('Cache-Control', 'private, no-store');
  });
}

/** Anonymous reads are cacheable; anything personal is not. */
export const anonymousEtag = readValidators(false);

function toProblem(error: unknown): Problem | undefined {
  if (error instanceof Problem) return error;
  if (error instanceof HTTPException) {
    if (error.status === 400 && /json/i.test(error.message)) return new Problem(400, 'malformed_json', 'The request body is not valid JSON.');
    if (error.status === 413) return payloadTooLarge();
  }
  return undefined;
}

function payloadTooLarge() {
  return new Problem(413, 'payload_too_large', `Request bodies may be at most ${MAX_BODY_BYTES / 1024} KiB.`);
}

const METHOD_RANK = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
const byMethodRank = (a: string, b: string) => (METHOD_RANK.indexOf(a) + 1 || 99) - (METHOD_RANK.indexOf(b) + 1 || 99);

/**
 * The methods routed for exactly this path, so that a known path with the wrong method answers 405,
 * not 404. Asked of hono's own router, so that it agrees with routing itself (no trailing slash,
 * patterns with their own rules); no method means 404. HEAD is answered wherever GET is: hono runs
 * the GET route and sends no body.
 */
function allowedMethods(app: Hono<AppEnv>): (path: string) => string[] {
  let methods: string[] | undefined;
  return (path) => {
    methods ??= [...new Set(app.routes.map((route) => route.method).filter((method) => method !== 'ALL'))];
    const routed = methods.filter((method) => app.router.match(method, path)[0].some(([[, route]]) => route.method === method));
    return (routed.includes('GET') ? [...routed, 'HEAD'] : routed).sort(byMethodRank);
  };
}

function noRoute(c: Context, methodsFor: (path: string) => string[]): Problem {
  const path = c.req.path;
  const allowed = methodsFor(path);
  if (allowed.length > 0) {
    const methods = allowed.join(', ');
    return new Problem(405, 'method_not_allowed', `${c.req.method} is not allowed here; use ${methods}.`, undefined, { Allow: methods });
  }
  const slashless = path.replace(/\/+$/, '');
  const hint = slashless !== path && slashless !== '' && methodsFor(slashless).length > 0 ? ` Paths take no trailing slash: ${slashless}.` : '';
  return new Problem(404, 'not_found', `No route for ${c.req.method} ${path}.${hint}`);
}

/** The app of one process, step by step: what every request passes, the modules, the kernel's own routes, the fallbacks. */
export function createApp(parts: AppParts): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  useRequestPlumbing(app, parts);
  mountModules(app, parts.modules);
  serveProbes(app, parts);
  serveApiReference(app, parts);
  servePages(app, parts.modules);
  answerFailures(app, parts.logger);
  return app;
}

/** Request id, access log, charset, body limit, a database context per request, JSON bodies and the caller. */
function useRequestPlumbing(app: Hono<AppEnv>, parts: AppParts) {
  app.use('*', requestId({ limitLength: 128 }));
  app.use('*', accessLog(parts.logger, parts.metrics));
  // Set on c.res.headers, not with c.header(): after `next()` that would copy the response, turning
  // @hono/node-server's light response into a full fetch Response.
  app.use('*', async (c, next) => {
    await next();
    if (c.res.headers.get('content-type') === 'application/json') c.res.headers.set('Content-Type', 'application/json; charset=utf-8');
  });
  const limitBody = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: () => { throw payloadTooLarge(); } });
  // Asking a GET for its body makes @hono/node-server build a full fetch Request: reads skip the check.
  app.use('*', (c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : limitBody(c, next)));
  app.use('*', async (c, next) => {
    c.set('em', parts.db.em.fork());
    await next();
  });
  app.use('/api/*', requireJsonBody);
  app.use('/api/*', authContext(parts.sessionResolver, parts.config, parts.sessionCache));
}

/** Public routes under `/api/<module>`, internal ones under `/internal/<module>` (never exposed by NGINX). */
function mountModules(app: Hono<AppEnv>, modules: MountedModule[]) {
  for (const module of modules) {
    if (module.routes) app.route(`/api/${module.name}`, module.routes);
    if (module.internal) app.route(`/internal/${module.name}`, module.internal);
  }
}

function serveProbes(app: Hono<AppEnv>, parts: AppParts) {
  const { db, redis, metrics } = parts;
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    if (parts.draining()) return c.json({ status: 'draining' }, 503);
    const checks: Record<string, 'ok' | 'down'> = { database: (await databaseAnswers(db)) ? 'ok' : 'down' };
    if (redis) checks.redis = await redis.ping().then(() => 'ok' as const, () => 'down' as const);
    const ready = Object.values(checks).every((state) => state === 'ok');
    return c.json({ status: ready ? 'ready' : 'unavailable', checks }, ready ? 200 : 503);
  });
  app.get('/metrics', async (c) => c.text(await metrics.registry.metrics(), 200, { 'Content-Type': metrics.registry.contentType }));
}

/** The OpenAPI document of the routes mounted so far, made once on first request, and its reference page. */
function serveApiReference(app: Hono<AppEnv>, parts: AppParts) {
  let spec: Promise<unknown> | undefined;
  app.get('/api/docs/openapi.json', async (c) => {
    spec ??= generateSpecs(app, {
      documentation: {
        info: {
          title: 'BookStore API',
          version: '1.0.0',
          description: 'Errors are RFC 9457 problem documents (application/problem+json); their `code` is one of ProblemCode.',
        },
        tags: parts.modules.map((m) => ({ name: m.name, description: m.description ?? m.name })),
        components: {
          schemas: {
            ProblemCode: { type: 'string', enum: [...parts.problemCodes], description: 'The machine-readable `code` of a problem document' },
          },
          securitySchemes: {
            bearer: { type: 'http', scheme: 'bearer', description: parts.signIn ? `The token from ${parts.signIn}` : 'A session token' },
            cookie: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
          },
        },
      },
      exclude: [/^\/internal\//, '/healthz', '/readyz', '/metrics', /^\/api\/docs/],
      defaultValidationErrorResponse: false,
    });
    return c.json(await spec);
  });
  // Read once, when first asked for; a failed read is tried again on the next request.
  let reference: Promise<ReferenceScript> | undefined;
  const apiReferenceScript = () => (reference ??= readReferenceScript().catch((error: unknown) => {
    reference = undefined;
    throw error;
  }));
  app.get('/api/docs', async (c) => {
    const script = await apiReferenceScript();
    return c.html(apiReferencePage(script.path), 200, { 'Cache-Control': 'no-cache', 'Content-Security-Policy': API_REFERENCE_CONTENT_SECURITY_POLICY });
  });
  app.get('/api/docs/assets/:file', async (c) => {
    const script = await apiReferenceScript();
    // Another digest (a page from before an upgrade) or another file.
    if (c.req.path !== script.path) throw notFound('API reference script');
    const headers = { 'Cache-Control': 'public, max-age=31536000, immutable', ETag: script.etag };
    // Weak comparison: NGINX marks the ETag weak (W/"…") when it compresses the script.
    const known = c.req.header('If-None-Match')?.split(/\s*,\s*/).map((tag) => tag.replace(/^W\//, ''));
    if (known?.includes(script.etag)) return c.body(null, 304, headers);
    return c.body(script.body, 200, { ...headers, 'Content-Type': 'text/javascript; charset=utf-8' });
  });
}

/**
 * The API reference's script: the standalone browser bundle of @scalar/api-reference (styles
 * included), served by the store itself so that the page needs no other origin,
 * nor internet access. Its URL carries a digest of its content, so browsers may keep it for a
 * year and still get the new one after an upgrade.
 */
interface ReferenceScript {
  path: string;
  body: Uint8Array<ArrayBuffer>;
  etag: string;
}

/**
 * `npm run build` copies the bundle next to the compiled code (dist/assets), so the image needs no
 * @scalar package (a development dependency: its 280 packages would triple node_modules); run from
 * source, it comes from node_modules.
 */
async function referenceScriptFile(): Promise<string> {
  const built = fileURLToPath(new URL('../assets/api-reference.js', import.meta.url));
  const present = await access(built).then(() => true, () => false);
  return present ? built : createRequire(import.meta.url).resolve('@scalar/api-reference/browser/standalone.js');
}

async function readReferenceScript(): Promise<ReferenceScript> {
  const body = new Uint8Array(await readFile(await referenceScriptFile()));
  const digest = createHash('sha256').update(body).digest('base64url').slice(0, 16);
  return { path: `/api/docs/assets/api-reference.${digest}.js`, body, etag: `"${digest}"` };
}

/**
 * The page: the script finds #api-reference and reads the document's URL and its settings from
 * data attributes (no inline script, so the policy needs no nonce). The settings keep the page on
 * this origin: no web fonts from Scalar's servers, no "open in Scalar's client" button, no
 * developer toolbar (which offers to upload the document to Scalar), no telemetry, no AI agent.
 * NGINX rewrites '/api/docs/openapi.json' in the page for the services behind /api/docs/<service>.
 */
function apiReferencePage(scriptPath: string): string {
  const settings = { withDefaultFonts: false, hideClientButton: true, showDeveloperTools: 'never', telemetry: false, agent: { disabled: true } };
  const attribute = JSON.stringify(settings).replaceAll('&', '&amp;').replaceAll('"', '&quot;');
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>BookStore API reference</title>
  </head>
  <body>
    <script id="api-reference" type="application/json" data-url="/api/docs/openapi.json" data-configuration="${attribute}"></script>
    <script src="${scriptPath}"></script>
  </body>
</html>
`;
}

/** The modules' web pages, from the root; mounted last, so that no page can shadow an API or probe path. */
function servePages(app: Hono<AppEnv>, modules: MountedModule[]) {
  for (const module of modules) if (module.pages) app.route('/', module.pages);
}

/** Unknown routes and wrong methods, expected failures as problem documents, anything else as 500 with the request id. */
function answerFailures(app: Hono<AppEnv>, logger: Logger) {
  const methodsFor = allowedMethods(app);
  app.notFound((c) => problemResponse(c, noRoute(c, methodsFor)));
  app.onError((error, c) => {
    const problem = toProblem(error);
    if (problem) return problemResponse(c, problem);
    if (databaseUnreachable(error)) {
      logger.warn({ requestId: c.var.requestId, err: error }, 'database unreachable; answered 503');
      return problemResponse(c, new Problem(503, 'service_unavailable', 'The database is unavailable right now; try again shortly.', undefined, { 'Retry-After': '5' }));
    }
    logger.error({ requestId: c.var.requestId, err: error }, 'unexpected error');
    return problemResponse(
      c,
      new Problem(500, 'internal', `Something went wrong on our side. Quote request id ${c.var.requestId} when reporting it.`),
    );
  });
}
