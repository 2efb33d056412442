import { expect, it } from 'vitest';
import { describeOnEachBackend, expectProblem, uniqueEmail } from '../../test/harness.js';
import { hashPassword } from './password.js';

let nextAddress = 1;
const address = () => ({ 'x-forwarded-for': `198.18.0.${nextAddress++}` });

describeOnEachBackend('choosing a password', (store) => {
  it.each([
    ['a most common password', () => 'password', /most common passwords/],
    ['a common number run', () => '12345678', /most common passwords/],
    ['a common password in capitals', () => 'Baseball1', /most common passwords/],
    ['eight spaces', () => '        ', /white space only/],
    ['white space of every kind', () => ' \t \n \u00a0  ', /white space only/],
    ['the email itself, in capitals', (email: string) => email.toUpperCase(), /email address or your name/],
    ['the part of the email before the @', (email: string) => email.split('@')[0]!, /email address or your name/],
    ['the name, in another case', () => 'ANN PASSWORDSON', /email address or your name/],
    ['text with a lone surrogate, which would be hashed as U+FFFD', () => 'a long \ud800 password', /well-formed Unicode/],
  ])('refuses %s with 400 validation_failed on password, and creates nothing', async (_label, choose, why) => {
    const { request, sql } = store();
    const email = uniqueEmail('chooser');
    const response = await request('POST', '/api/auth/register', { body: { name: 'Ann Passwordson', email, password: choose(email) }, headers: address() });
    expectProblem(response, 400, 'validation_failed');
    expect(response.body.errors).toEqual([{ path: 'password', message: expect.stringMatching(why) }]);
    expect(await sql('select id from auth_users where email = ?', [email])).toHaveLength(0);
  });

  it('refuses a common password at sign-up, yet signs in an account that already has one; the passwords our tests and demo use stay accepted', async () => {
    const { request, sql } = store();
    const email = uniqueEmail('older');
    expectProblem(await request('POST', '/api/auth/register', { body: { name: 'Older', email, password: 'password' }, headers: address() }), 400, 'validation_failed');
    expect((await request('POST', '/api/auth/register', { body: { name: 'Older', email, password: 'correct horse battery' }, headers: address() })).status).toBe(201);
    await sql('update auth_users set password_hash = ? where email = ?', [await hashPassword('password'), email]);
    expect((await request('POST', '/api/auth/login', { body: { email, password: 'password' }, headers: address() })).status).toBe(200);

    for (const password of ['long enough', 'a long enough password', 'admin password 123', 'a new admin password', '8 chars!', 'p'.repeat(128)]) {
      const response = await request('POST', '/api/auth/register', { body: { name: 'Fine', email: uniqueEmail('fine'), password }, headers: address() });
      expect(response.status, password).toBe(201);
    }
    for (const password of ['short', 'p'.repeat(129)]) {
      expectProblem(await request('POST', '/api/auth/register', { body: { name: 'Fine', email: uniqueEmail('fine'), password }, headers: address() }), 400, 'validation_failed');
    }
  });
});
