/**
 * The API reference at /api/docs works without internet access: its page names no other origin,
 * its script is the store's own (the standalone bundle of @scalar/api-reference), and its
 * Content-Security-Policy allows only the store's origin. Every other answer keeps the API's policy.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_CONTENT_SECURITY_POLICY, API_REFERENCE_CONTENT_SECURITY_POLICY } from '../kernel/app.js';
import type { RunningStore } from '../kernel/store.js';
import { startTestStore } from './harness.js';

describe('the API reference', () => {
  let dir: string;
  let store: RunningStore;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bookstore-reference-'));
    store = await startTestStore({ DATABASE_URL: `sqlite:${join(dir, 'bookstore.db')}`, BOOKSTORE_MODULES: 'auth,catalog' });
  });

  afterAll(async () => {
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const page = async () => {
    const response = await fetch(`${store.url}/api/docs`);
    return { response, html: await response.text() };
  };
  /** Every URL the page would load or send something to: src, href, action, data-url, url(…). */
  const urlsIn = (html: string) => [...html.matchAll(/\b(?:src|href|action|data-url)\s*=\s*["']?([^"'\s>]+)|url\(\s*["']?([^"')]+)/gi)].map((m) => m[1] ?? m[2]!);

  it('is a page that loads only same-origin URLs, with no inline script', async () => {
    const { response, html } = await page();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html).not.toMatch(/https?:|\/\/[a-z0-9]/i);
    const urls = urlsIn(html);
    expect(urls).toContain('/api/docs/openapi.json');
    expect(urls.some((url) => /^\/api\/docs\/assets\/api-reference\.[\w-]+\.js$/.test(url))).toBe(true);
    for (const url of urls) expect(url, `${url} is not a same-origin path`).toMatch(/^\/(?!\/)/);
    // Scripts are either loaded from the store or inert data (the settings the script reads).
    for (const [tag, body] of [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)].map((m) => [m[1]!, m[2]!] as const)) {
      expect(/\bsrc=/.test(tag) || /type="application\/json"/.test(tag), tag).toBe(true);
      expect(body.trim()).toBe('');
    }
    expect(html).not.toMatch(/<style|<link|\son[a-z]+=/i);
  });

  it('has a strict policy allowing only its own origin', async () => {
    const { response } = await page();
    const policy = response.headers.get('content-security-policy');
    expect(policy).toBe(API_REFERENCE_CONTENT_SECURITY_POLICY);
    const directives = new Map(policy!.split(/\s*;\s*/).map((d) => [d.split(' ')[0]!, d.split(' ').slice(1)] as const));
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('connect-src')).toEqual(["'self'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives.get('base-uri')).toEqual(["'none'"]);
    // No source anywhere names a host or a scheme that reaches one.
    for (const sources of directives.values()) for (const source of sources) expect(source).toMatch(/^('[a-z-]+'|data:|blob:)$/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('serves its script from the store, cacheable for a year, with an ETag', async () => {
    const { html } = await page();
    const path = urlsIn(html).find((url) => url.startsWith('/api/docs/assets/'))!;
    const script = await fetch(`${store.url}${path}`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const body = await script.text();
    expect(body.length).toBeGreaterThan(1_000_000);
    expect(Number(script.headers.get('content-length') ?? Buffer.byteLength(body))).toBe(Buffer.byteLength(body));
    expect(body).toContain('@scalar/api-reference');
    expect(body).toContain('createApiReference');
    const etag = script.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await fetch(`${store.url}${path}`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect((await fetch(`${store.url}${path}`, { headers: { 'if-none-match': `"x", W/${etag}` } })).status).toBe(304);
    // Another digest (a page from before an upgrade) or another file: not found, as a problem document.
    const stale = await fetch(`${store.url}/api/docs/assets/api-reference.0000000000000000.js`);
    expect(stale.status).toBe(404);
    expect(stale.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('leaves every other answer with the API policy', async () => {
    for (const path of ['/healthz', '/api/docs/openapi.json', '/api/catalog/books', '/api/docs/nothing', '/api/docsx']) {
      const response = await fetch(`${store.url}${path}`);
      await response.arrayBuffer();
      expect(response.headers.get('content-security-policy'), path).toBe(API_CONTENT_SECURITY_POLICY);
    }
  });
});
