/**
 * A path no route matches is 404, trailing slash included (no redirect: API clients call the
 * documented paths). A path that has routes answers other methods with 405 and an Allow naming
 * exactly the methods routed there, HEAD wherever GET is (hono answers HEAD with the GET route).
 */
import { expect, it } from 'vitest';
import { describeOnEachBackend, expectProblem } from './harness.js';

describeOnEachBackend('routing: 404 and 405', (store) => {
  it('a trailing slash is 404 not_found, with a hint; a path nothing knows is 404 without one', async () => {
    const slashed: [string, string][] = [
      ['GET', '/api/auth/users/'],
      ['GET', '/api/catalog/books/'],
      ['POST', '/api/purchase/orders/'],
      ['DELETE', '/api/catalog/books/1/'],
    ];
    for (const [method, path] of slashed) {
      const response = await store().request(method, path, method === 'POST' ? { body: {} } : {});
      expect(response.status, `${method} ${path}`).toBe(404);
      expectProblem(response, 404, 'not_found');
      expect(response.headers.get('allow')).toBeNull();
      expect(response.body.detail).toContain('no trailing slash');
    }
    const unknown = await store().request('GET', '/api/catalog/nothing-here/');
    expectProblem(unknown, 404, 'not_found');
    expect(unknown.body.detail).not.toContain('trailing slash');
  });

  it('a 405 names exactly the methods routed for that path, HEAD wherever GET is', async () => {
    const cases: [string, string, string][] = [
      ['DELETE', '/api/catalog/books', 'GET, HEAD, POST'],
      ['PUT', '/api/catalog/books/1', 'GET, HEAD, PATCH, DELETE'],
      ['DELETE', '/api/auth/users', 'GET, HEAD'],
      ['GET', '/api/auth/login', 'POST'],
      ['HEAD', '/api/auth/login', 'POST'],
    ];
    for (const [method, path, allow] of cases) {
      const response = await store().request(method, path);
      expect(response.status, `${method} ${path}`).toBe(405);
      expect(response.headers.get('allow'), `${method} ${path}`).toBe(allow);
      if (method === 'HEAD') continue; // no body to read
      expectProblem(response, 405, 'method_not_allowed');
      expect(response.body.detail).toBe(`${method} is not allowed here; use ${allow}.`);
    }
  });

  it('HEAD is answered wherever GET is, without a body, which is why Allow lists it', async () => {
    for (const path of ['/api/catalog/books', '/api/auth/users', '/healthz']) {
      const head = await fetch(`${store().store.url}${path}`, { method: 'HEAD' });
      const get = await fetch(`${store().store.url}${path}`);
      expect(head.status, path).toBe(get.status);
      expect(await head.text()).toBe('');
      await get.text();
      const wrong = await store().request('PUT', path);
      expect(wrong.status, path).toBe(405);
      expect(wrong.headers.get('allow'), path).toMatch(/^GET, HEAD\b/);
    }
  });
});
