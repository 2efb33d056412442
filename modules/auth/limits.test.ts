import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { REDIS_SERVER, apiClient, createTestDatabase, describeOnEachBackend, expectProblem, servicesAvailable, signUp, startTestStore, uniqueEmail, type ApiResponse } from '../../test/harness.js';

let nextAddress = 1;
/** A client address of its own per test, so that one test's per-address counts do not reach another. */
const address = () => ({ 'x-forwarded-for': `203.0.113.${nextAddress++}` });

/** How many answers had each status, e.g. `{ 401: 5, 429: 145 }`. */
function statusCounts(responses: ApiResponse[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const { status } of responses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

function burst<T>(size: number, send: (i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: size }, (_, i) => send(i)));
}

function expectRetryAfterWithin(response: ApiResponse, seconds: number) {
  expectProblem(response, 429, 'rate_limited');
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(seconds);
}

/** The counter sits under the store's key prefix (so it is shared and dropped with it), counts what was let through, and expires with its window. */
async function expectRedisCount(prefix: string, counter: string, count: number, windowSeconds: number) {
  const redis = new Redis(REDIS_SERVER);
  try {
    const key = `${prefix}ratelimit:${counter}`;
    expect(await redis.get(key)).toBe(String(count));
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(windowSeconds - 60);
    expect(ttl).toBeLessThanOrEqual(windowSeconds);
  } finally {
    redis.disconnect();
  }
}

describeOnEachBackend('sign-in and sign-up limits under bursts', (store) => {
  it('checks exactly 5 of 150 wrong passwords for one email sent at once; the right one after them is refused too', async () => {
    const { request } = store();
    const { email, password } = await signUp(request, 'Burst Target');
    const headers = address();
    const answers = await burst(150, (i) => request('POST', '/api/auth/login', { body: { email, password: `wrong password ${i}` }, headers }));
    expect(statusCounts(answers)).toEqual({ 401: 5, 429: 145 });
    for (const refused of answers.filter((a) => a.status === 429)) expectRetryAfterWithin(refused, 15 * 60);

    const rightPassword = await request('POST', '/api/auth/login', { body: { email, password }, headers: address() });
    expectRetryAfterWithin(rightPassword, 15 * 60);
    if (store().backend === 'mariadb+redis') await expectRedisCount(store().store.context.config.redisKeyPrefix, `login-email:${email}`, 5, 15 * 60);
  });

  it('checks exactly 20 of 40 passwords sent at once from one address, over many emails, and the address cannot lock anyone', async () => {
    const { request } = store();
    const headers = address();
    // 8 accounts, 5 guesses each: no email reaches its own limit, so only the address's can refuse.
    const targets = await Promise.all(Array.from({ length: 8 }, () => signUp(request, 'Sprayed')));
    const answers = await burst(40, (i) => request('POST', '/api/auth/login', { body: { email: targets[i % 8]!.email, password: 'guess number one' }, headers }));
    expect(statusCounts(answers)).toEqual({ 401: 20, 429: 20 });

    const { email, password } = await signUp(request, 'Bystander');
    const refused = await burst(10, () => request('POST', '/api/auth/login', { body: { email, password: 'guess number two' }, headers }));
    expect(statusCounts(refused)).toEqual({ 429: 10 });
    expectRetryAfterWithin(await request('POST', '/api/auth/login', { body: { email, password }, headers }), 15 * 60);
    // Refused at the address, those 10 took none of the email's 5 checks: its owner signs in elsewhere.
    expect((await request('POST', '/api/auth/login', { body: { email, password }, headers: address() })).status).toBe(200);
  });

  it('creates exactly 30 of 150 accounts asked for at once from one address', async () => {
    const { request, sql } = store();
    const headers = address();
    const emails = Array.from({ length: 150 }, () => uniqueEmail('rush'));
    const answers = await burst(150, (i) => request('POST', '/api/auth/register', { body: { name: 'Rush', email: emails[i], password: 'correct horse battery' }, headers }));
    expect(statusCounts(answers)).toEqual({ 201: 30, 429: 120 });
    for (const refused of answers.filter((a) => a.status === 429)) expectRetryAfterWithin(refused, 10 * 60);
    const [created] = await sql<{ n: number }>(`select count(*) as n from auth_users where email like 'rush.%'`);
    expect(Number(created!.n)).toBe(30);
    if (store().backend === 'mariadb+redis') await expectRedisCount(store().store.context.config.redisKeyPrefix, `register-address:${headers['x-forwarded-for']}`, 30, 10 * 60);
  });

  it('a successful sign-in gives its checks back: right passwords from one address never reach a limit, only failures add up', async () => {
    const { request } = store();
    const headers = address();
    const users = await Promise.all(Array.from({ length: 8 }, () => signUp(request, 'Regular')));
    // 3 rounds of 8 at once (the bench's login storm runs 8 connections): 24 sign-ins, more than 20.
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(users.map(({ email, password }) => request('POST', '/api/auth/login', { body: { email, password }, headers })));
      expect(statusCounts(answers)).toEqual({ 200: 8 });
    }

    const [owner] = users;
    const fail = () => request('POST', '/api/auth/login', { body: { email: owner!.email, password: 'a typo' }, headers });
    expect(statusCounts(await burst(4, fail))).toEqual({ 401: 4 });
    expect((await request('POST', '/api/auth/login', { body: { email: owner!.email, password: owner!.password }, headers })).status).toBe(200);
    expect(statusCounts(await burst(6, fail))).toEqual({ 401: 5, 429: 1 });
  });

});

const mysqlReachable = await servicesAvailable('modules/auth/limits.test.ts', ['mysql']);

it.runIf(mysqlReachable)('answers 503 service_unavailable with Retry-After, never an unchecked sign-in, while Redis is unreachable', async () => {
  const db = await createTestDatabase();
  const store = await startTestStore({ DATABASE_URL: db.url, REDIS_URL: 'redis://127.0.0.1:1' });
  try {
    const request = apiClient(store.url);
    const answers = [
      await request('POST', '/api/auth/login', { body: { email: 'a@example.test', password: 'whatever123' }, headers: address() }),
      await request('POST', '/api/auth/register', { body: { name: 'N', email: uniqueEmail('down'), password: 'correct horse battery' }, headers: address() }),
    ];
    for (const answer of answers) {
      expectProblem(answer, 503, 'service_unavailable');
      expect(answer.headers.get('retry-after')).toBe('5');
    }
  } finally {
    await store.close();
    await db.drop();
  }
});
