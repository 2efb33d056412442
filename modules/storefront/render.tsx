import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { Layout } from './layout.js';
import type { Visit } from './visit.js';

/**
 * The pages' own policy: their stylesheet and script come from the store, the script talks only
 * to the store (the order page's event stream), forms post only to the store, nothing frames them.
 */
export const PAGE_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** A whole page; pages show who is signed in, so no cache keeps them. */
export async function render(c: Context, visit: Visit, title: string, body: Child, status: ContentfulStatusCode = 200): Promise<Response> {
  const page = <Layout visit={visit} title={title}>{body}</Layout>;
  return c.html(`<!doctype html>\n${await page.toString()}`, status, {
    'Content-Security-Policy': PAGE_CONTENT_SECURITY_POLICY,
    'Cache-Control': 'private, no-store',
    // Not the API's no-referrer: with it, browsers send `Origin: null` on form posts, which the
    // API's Origin check must refuse. Same-origin still sends nothing to other sites.
    'Referrer-Policy': 'same-origin',
    Vary: 'Cookie, Accept-Language',
  });
}

/** After a form post: see the result with a GET, so a reload never posts again. */
export function seeOther(c: Context, path: string): Response {
  return c.redirect(path, 303);
}

/** The page's status for a refusal: the API's, except that a 5xx of the API is the store being unavailable. */
export function pageStatusOf(status: number): ContentfulStatusCode {
  return ([400, 401, 403, 404, 409, 412, 422, 429] as const).find((known) => known === status) ?? (status >= 500 ? 503 : 400);
}
