import { expect, it } from 'vitest';
import { describeOnEachBackend, expectProblem, signUp, uniqueEmail, type ApiRequest } from '../../test/harness.js';

let nextAddress = 1;
/** A client address of its own per request, so that no limit interferes with what is measured. */
const freshAddress = () => ({ 'x-forwarded-for': `192.0.2.${nextAddress++}` });

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timedLogin(request: ApiRequest, email: string, password: string): Promise<number> {
  const started = performance.now();
  const response = await request('POST', '/api/auth/login', { body: { email, password }, headers: freshAddress() });
  const took = performance.now() - started;
  expectProblem(response, 401, 'invalid_credentials');
  return took;
}

describeOnEachBackend('sign-in timing and origin', (store) => {
  it('takes as long for an unknown email as for a known one with a wrong password', async () => {
    const { request } = store();
    // Four known emails, four failures each: under the limit of 5 per email, so every one is checked.
    const emails = await Promise.all([1, 2, 3, 4].map(async () => (await signUp(request, 'Timing Person')).email));
    const known: number[] = [];
    const unknown: number[] = [];
    // Alternating, so that a slow moment on the shared machine hurts both sides alike.
    for (let i = 0; i < 16; i++) {
      known.push(await timedLogin(request, emails[i % 4]!, `wrong password ${i}`));
      unknown.push(await timedLogin(request, uniqueEmail('nobody'), `wrong password ${i}`));
    }
    console.log(`${store().backend}: median sign-in failure ${median(known).toFixed(1)} ms for a known email, ${median(unknown).toFixed(1)} ms for an unknown one`);
    // Both run one Argon2id verification; without the decoy the unknown email answered in a quarter of the time.
    expect(median(unknown)).toBeGreaterThanOrEqual(0.6 * median(known));
  });

  it('answers 403 to sign-in and sign-up sent with a foreign Origin (no cookie, no account), and accepts our own origin or none', async () => {
    const { request, sql } = store();
    const { email, password } = await signUp(request, 'Csrf Victim');
    for (const origin of ['https://evil.example', 'null', 'https://127.0.0.1', `${store().store.url}.evil.example`]) {
      const login = await request('POST', '/api/auth/login', { body: { email, password }, headers: { ...freshAddress(), origin } });
      expectProblem(login, 403, 'forbidden');
      expect(login.headers.get('set-cookie'), origin).toBeNull();
      const planted = uniqueEmail('planted');
      const register = await request('POST', '/api/auth/register', { body: { name: 'Planted', email: planted, password: 'correct horse battery' }, headers: { ...freshAddress(), origin } });
      expectProblem(register, 403, 'forbidden');
      expect(await sql('select id from auth_users where email = ?', [planted]), origin).toHaveLength(0);
    }

    for (const sameSite of [{ origin: store().store.url }, {}] as Record<string, string>[]) {
      const newEmail = uniqueEmail('welcome');
      const created = await request('POST', '/api/auth/register', { body: { name: 'Welcome', email: newEmail, password }, headers: { ...freshAddress(), ...sameSite } });
      expect(created.status).toBe(201);
      const login = await request('POST', '/api/auth/login', { body: { email: newEmail, password }, headers: { ...freshAddress(), ...sameSite } });
      expect(login.status).toBe(200);
      expect(login.headers.get('set-cookie')).toContain('bookstore_session=');
    }
  });

  it('compares origins as browsers write them: a Host with the scheme\'s default port is the same origin', async () => {
    const { request } = store();
    const email = uniqueEmail('port');
    const password = 'correct horse battery';
    const behindProxy = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'books.example:443' };
    const created = await request('POST', '/api/auth/register', { body: { name: 'Port', email, password }, headers: { ...freshAddress(), ...behindProxy, origin: 'https://books.example' } });
    expect(created.status).toBe(201);
    const other = await request('POST', '/api/auth/login', { body: { email, password }, headers: { ...freshAddress(), ...behindProxy, origin: 'https://books.example:8443' } });
    expect(other.status).toBe(403);
  });
});
