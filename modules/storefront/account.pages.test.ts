import { expect, it } from 'vitest';
import { describeOnEachBackend } from '../../test/harness.js';
import { Visitor, heading, registeredVisitor } from './storefront.testkit.js';

describeOnEachBackend('storefront: register, sign in, sign out', (stack) => {
  it('registering signs the person in with the API session cookie (HttpOnly), and the header changes', async () => {
    const { store } = stack();
    const visitor = new Visitor(store.url);
    expect((await visitor.get('/')).html).toContain('href="/sign-in"');
    const page = await visitor.post('/register', { name: 'Rosa Reader', email: `rosa.${Date.now()}@example.test`, password: 'a long passphrase 42', back: '/orders' });
    expect(page.status).toBe(303);
    expect(page.location).toBe('/orders');
    expect(page.headers.get('set-cookie')).toMatch(/^bookstore_session=[^;]+;.*HttpOnly/i);
    const home = await visitor.get('/');
    expect(home.html).toContain('>Sign out</button>');
    expect(home.html).toContain('href="/sell"');
  });

  it('field errors from the API stand next to their fields; a taken email says so', async () => {
    const { store } = stack();
    const visitor = new Visitor(store.url);
    const badEmail = await visitor.post('/register', { name: 'Weak', email: 'not-an-email', password: 'a long passphrase 42' });
    expect(badEmail.status).toBe(400);
    expect(badEmail.html).toMatch(/id="field-email-error">must be an email address/);
    expect(badEmail.html).toContain('value="not-an-email"');
    const weak = await visitor.post('/register', { name: 'Weak', email: `weak.${Date.now()}@example.test`, password: 'password' });
    expect(weak.status).toBe(400);
    expect(weak.html).toMatch(/id="field-password-error">/);
    expect(weak.html).toContain('aria-describedby="field-password-hint field-password-error"');
    const email = `taken.${Date.now()}@example.test`;
    await new Visitor(store.url).post('/register', { name: 'First', email, password: 'a long passphrase 42' });
    const taken = await new Visitor(store.url).post('/register', { name: 'Second', email, password: 'a long passphrase 42' });
    expect(taken.status).toBe(409);
    expect(taken.html).toContain('An account with this email already exists.');
  });

  it('a wrong password is one message, and a rate limit says when to try again', async () => {
    const { store } = stack();
    const email = `limited.${Date.now()}@example.test`;
    await new Visitor(store.url).post('/register', { name: 'Lim Ited', email, password: 'a long passphrase 42' });
    const visitor = new Visitor(store.url);
    const wrong = await visitor.post('/sign-in', { email, password: 'wrong password 1' });
    expect(wrong.status).toBe(401);
    expect(wrong.html).toContain('role="alert">Wrong email or password.');
    expect(heading(wrong)).toBe('Sign in');
    for (let n = 0; n < 5; n += 1) await visitor.post('/sign-in', { email, password: 'wrong password 1' });
    const limited = await visitor.post('/sign-in', { email, password: 'a long passphrase 42' });
    expect(limited.status).toBe(429);
    expect(limited.html).toMatch(/Too many attempts\. Try again in \d+ minute/);
    expect(visitor.signedIn).toBe(false);
  });

  it('a form posted from another site is refused by the API behind the page (Origin)', async () => {
    const { store } = stack();
    const email = `origin.${Date.now()}@example.test`;
    await new Visitor(store.url).post('/register', { name: 'Ori Gin', email, password: 'a long passphrase 42' });
    const visitor = new Visitor(store.url);
    const foreign = await visitor.post('/sign-in', { email, password: 'a long passphrase 42' }, { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(visitor.signedIn).toBe(false);
    const signedIn = await registeredVisitor(store.url);
    const signOut = await signedIn.post('/sign-out', {}, { origin: 'https://evil.example' });
    expect(signOut.status).toBe(303);
    expect((await signedIn.get('/orders')).status).toBe(200);
  });

  it('signing out ends the session; pages that need one send the visitor to sign in and back', async () => {
    const { store } = stack();
    const visitor = await registeredVisitor(store.url);
    expect((await visitor.get('/orders')).status).toBe(200);
    const out = await visitor.post('/sign-out', {});
    expect(out.status).toBe(303);
    expect(visitor.signedIn).toBe(false);
    const orders = await visitor.get('/orders');
    expect(orders.status).toBe(302);
    expect(orders.location).toBe('/sign-in?back=/orders');
    const form = await visitor.get('/sign-in?back=%2Forders');
    expect(form.html).toContain('name="back" value="/orders"');
  });
});
