/**
 * What the swarm tests share: the docker CLI (API 1.41, for the Docker 20.10 engine), the stack's
 * HTTPS entry on 127.0.0.1:443 through NGINX with the local CA, users, and the stack's containers.
 * The stack itself is brought up and down once per run by global-setup.ts (test/swarm/swarm.sh).
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { httpsClient, type HttpsClient, type Reply } from '../stack/https.js';

export const STATE = process.env.BOOKSTORE_SWARM_STATE ?? '/var/lib/bookstore-swarm';
export const STACK = 'bookstore';
export const PASSWORD = 'violet tugboat spreadsheet 42';
export const CARD = { method: 'card', cardNumber: '4242424242424242', expMonth: 12, expYear: 2040, cvc: '123' };
export const ADDRESS = { name: 'Ada Buyer', line1: '1 Swarm Street', city: 'Localhost', country: 'CO' };
export const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Runs the docker CLI against the local engine; answers its stdout. */
export function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', env: { ...process.env, DOCKER_API_VERSION: '1.41' }, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
}

/** The same without blocking the event loop: for long commands while a load generator runs in this process. */
export async function dockerAsync(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('docker', args, { encoding: 'utf8', env: { ...process.env, DOCKER_API_VERSION: '1.41' }, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/**
 * Whether this run can have a swarm: root and an engine that answers or can be installed. Outside
 * CI a file without one says SKIPPED and skips; under CI=true it fails.
 */
export function swarmAvailable(file: string): boolean {
  const swarm = inject('swarm');
  if (swarm.ready) return true;
  const message = `${file}: no Docker engine (${swarm.missing})`;
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: failing instead of skipping)`);
  console.warn(`SKIPPED ${message}`);
  return false;
}

export const caFile = () => join(STATE, 'certs/ca.crt');
export function adminCredentials(): { email: string; password: string } {
  const text = readFileSync(join(STATE, 'admin-credentials'), 'utf8');
  return { email: /^email: (.*)$/m.exec(text)![1]!, password: /^password: (.*)$/m.exec(text)![1]! };
}

/** The store as a user reaches it: https://localhost (NGINX on 127.0.0.1:443) trusting only the local CA. */
export function storeClient(): HttpsClient {
  if (!existsSync(caFile())) throw new Error(`no CA at ${caFile()}: is the stack up?`);
  return httpsClient(443, readFileSync(caFile(), 'utf8'));
}

export interface User {
  email: string;
  token: string;
  id: number;
}

/** Registers and signs in a user (NGINX allows 30 sign-in requests a minute per address: waits out a 429). */
export async function signUp(api: HttpsClient, name: string): Promise<User> {
  const email = `${name.toLowerCase()}.${randomBytes(4).toString('hex')}@example.test`;
  const call = async (path: string, body: object): Promise<Reply> => {
    for (;;) {
      const reply = await api('POST', path, { body });
      if (reply.status !== 429) return reply;
      await sleep(2000);
    }
  };
  const registered = await call('/api/auth/register', { name, email, password: PASSWORD });
  if (registered.status !== 201) throw new Error(`register: ${registered.status} ${registered.text}`);
  const login = await call('/api/auth/login', { email, password: PASSWORD });
  if (login.status !== 200) throw new Error(`login: ${login.status} ${login.text}`);
  return { email, token: login.body.token, id: login.body.user.id };
}

/** A book with plenty of stock, sold by `seller`. */
export async function sellBook(api: HttpsClient, seller: User, title: string, stock = 100_000): Promise<number> {
  const reply = await api('POST', '/api/catalog/books', { token: seller.token, body: { title, author: 'Swarm Author', priceCents: 990, stock } });
  if (reply.status !== 201) throw new Error(`sell: ${reply.status} ${reply.text}`);
  return reply.body.book.id;
}

/** Running containers of one service of the stack (ids). */
export function containersOf(service: string): string[] {
  return docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${STACK}_${service}`, '--filter', 'status=running').split('\n').filter(Boolean);
}

/** Running/desired replicas of a service, as `docker service ls` counts them. */
export function replicas(service: string): { running: number; desired: number } {
  const [running, desired] = docker('service', 'ls', '--filter', `name=${STACK}_${service}`, '--format', '{{.Replicas}}').trim().split(' ')[0]!.split('/').map(Number);
  return { running: running!, desired: desired! };
}

/** Waits until the service runs all its replicas (Swarm counts a task once it is healthy). */
export async function converged(service: string, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { running, desired } = replicas(service);
    if (running === desired && containersOf(service).length === desired) return;
    if (Date.now() > deadline) throw new Error(`${service}: ${running}/${desired} after ${timeoutMs} ms\n${docker('service', 'ps', '--no-trunc', `${STACK}_${service}`)}`);
    await sleep(2000);
  }
}

/** SQL as MariaDB's root, inside the mysql task (as docs/deploy.md's backup script does). */
export function mysql(sql: string): string[][] {
  const [container] = containersOf('mysql');
  if (!container) throw new Error('no running mysql container');
  const out = docker('exec', container, 'sh', '-c', `exec mariadb -uroot -p"$(cat /run/secrets/mysql_root_password)" -N -B bookstore -e "$0"`, sql);
  return out.split('\n').filter(Boolean).map((line) => line.split('\t'));
}

/** The overlay address of each running container of a service on the stack's internal network. */
export function internalAddresses(service: string): Map<string, string> {
  const addresses = new Map<string, string>();
  for (const id of containersOf(service)) {
    const ip = docker('inspect', id, '-f', `{{(index .NetworkSettings.Networks "${STACK}_internal").IPAddress}}`).trim();
    addresses.set(ip, id);
  }
  return addresses;
}
