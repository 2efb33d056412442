/**
 * Issue 4: stack.yml, the Dockerfile, the entrypoint and the NGINX template checked without a
 * Docker engine: `docker stack config` validates the stack offline, and the rest is read as data
 * and compared with what the code needs (kernel/registry.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { urlVariable } from '../../kernel/config.js';
import { MODULES } from '../../kernel/registry.js';
import { renderTemplate } from '../../docker/nginx/render.js';
import {
  configsOf,
  entrypointCommands,
  environmentOf,
  findKeys,
  loadStackFile,
  networksOf,
  parseStackYaml,
  readDockerfile,
  secretsOf,
  type ServiceSpec,
} from './stack-file.js';

const ROOT = join(import.meta.dirname, '../..');
const STACK = join(ROOT, 'stack.yml');
const IN_CI = process.env.CI === 'true';
const stack = loadStackFile(STACK);
const services = stack.services;
const image = readDockerfile(join(ROOT, 'docker/Dockerfile'));

const APP = ['migrate', 'auth', 'catalog', 'purchase', 'payment-worker', 'delivery-worker', 'storefront'];
const API = ['auth', 'catalog', 'purchase', 'storefront'];
const WORKERS = ['payment-worker', 'delivery-worker'];
const LONG_RUNNING = APP.filter((name) => name !== 'migrate');
const seconds = (duration: string | undefined) => {
  const match = /^(\d+)(ms|s|m)$/.exec(duration ?? '');
  if (!match) return 0;
  return Number(match[1]) * ({ ms: 0.001, s: 1, m: 60 } as const)[match[2] as 'ms' | 's' | 'm'];
};
const service = (name: string): ServiceSpec => services[name]!;

/** The node size stack.yml documents as the smallest (its comment, repeated in docs/deploy.md). */
function smallestNode(): { cpus: number; gib: number } {
  const match = /Smallest node: (\d+) CPUs, (\d+) GiB/.exec(readFileSync(STACK, 'utf8'));
  if (!match) throw new Error('stack.yml must say "Smallest node: N CPUs, M GiB"');
  return { cpus: Number(match[1]), gib: Number(match[2]) };
}

/** Every `docker service scale bookstore_X=N` that stack.yml and docs/deploy.md show, largest N per service. */
function scaleExamples(): Record<string, number> {
  const text = [STACK, join(ROOT, 'docs/deploy.md')].map((file) => readFileSync(file, 'utf8')).join('\n');
  const scaled: Record<string, number> = {};
  for (const command of text.matchAll(/docker service scale((?: bookstore_[a-z-]+=\d+)+)/g)) {
    for (const [, name, count] of command[1]!.matchAll(/bookstore_([a-z-]+)=(\d+)/g)) scaled[name!] = Math.max(scaled[name!] ?? 0, Number(count));
  }
  return scaled;
}

function memoryBytes(value: string): number {
  const match = /^(\d+(?:\.\d+)?)([KMG]?)$/i.exec(value);
  if (!match) throw new Error(`memory ${value} is not N, NK, NM or NG`);
  return Number(match[1]) * 1024 ** ' KMG'.indexOf(match[2]!.toUpperCase() || ' ');
}

function dockerCli(): boolean {
  if (spawnSync('docker', ['--version']).status === 0) return true;
  const message = 'test/stack/stack-file.test.ts: the docker CLI is not installed; docker stack config not run';
  if (IN_CI) throw new Error(`${message} (CI=true: failing instead of skipping)`);
  console.warn(`SKIPPED ${message}`);
  return false;
}

describe('stack.yml', () => {
  it.runIf(dockerCli())('validates offline with docker stack config', () => {
    const result = spawnSync('docker', ['stack', 'config', '-c', STACK], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, BOOKSTORE_IMAGE: 'registry.example.com/bookstore:1.2.3' } });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('image: registry.example.com/bookstore:1.2.3');
    expect(result.stderr).not.toMatch(/not set|ignor|unsupported/i);
  });

  it('uses no key that Swarm ignores (build, depends_on, container_name), anywhere', () => {
    expect(findKeys(parseStackYaml(STACK), ['build', 'depends_on', 'container_name'])).toEqual([]);
    expect(readFileSync(STACK, 'utf8')).not.toMatch(/^\s*(build|depends_on|container_name)\s*:/m);
  });

  it('has the services of the design, the app ones all from the one image, and init everywhere', () => {
    expect(Object.keys(services).sort()).toEqual([...APP, 'nginx', 'mysql', 'redis'].sort());
    const appImages = new Set(APP.map((name) => service(name).image));
    expect([...appImages]).toEqual(['bookstore:latest']);
    expect(readFileSync(STACK, 'utf8')).toContain('image: ${BOOKSTORE_IMAGE:-bookstore:latest}');
    for (const name of ['nginx', 'mysql', 'redis']) expect(service(name).image).not.toBe('bookstore:latest');
    for (const [name, spec] of Object.entries(services)) expect(spec.init, name).toBe(true);
  });

  it('each app service sets BOOKSTORE_MODULES and only the URLs and secrets its modules need', () => {
    for (const name of LONG_RUNNING) {
      const env = environmentOf(service(name));
      expect(env.BOOKSTORE_MODULES, name).toBe(name);
      expect(env.BOOKSTORE_MIGRATE, name).toBe('false');
      const module = MODULES.find((m) => m.name === name);
      expect(module, `${name} is a module of this build`).toBeDefined();
      const needed = module!.needs.map(urlVariable).sort();
      expect(Object.keys(env).filter((key) => /^(AUTH|CATALOG|PURCHASE)_URL$/.test(key)).sort(), name).toEqual(needed);
      for (const url of needed) expect(env[url], name).toMatch(/^http:\/\/(auth|catalog|purchase):3000$/);
      const token = needed.length > 0 || module!.servesInternalApi;
      expect('INTERNAL_TOKEN_FILE' in env, `${name} INTERNAL_TOKEN_FILE`).toBe(token);
      expect('TRUST_PROXY' in env, `${name} TRUST_PROXY`).toBe(API.includes(name));
      expect('BOOKSTORE_ADMIN_PASSWORD_FILE' in env, `${name} admin`).toBe(name === 'auth');
      for (const key of Object.keys(env)) expect(key.endsWith('_FILE') || !/password|token|secret/i.test(key), `${name} ${key} must come from a secret file`).toBe(true);
      expect(env, name).not.toHaveProperty('DATABASE_URL');
      expect(env.DATABASE_URL_FILE).toBe('/run/secrets/database_url');
    }
    const migrate = service('migrate');
    expect(migrate.command).toEqual(['migrate']);
    expect(environmentOf(migrate)).toMatchObject({ BOOKSTORE_MODULES: 'all', DATABASE_URL_FILE: '/run/secrets/database_url' });
  });

  it('mounts exactly the secrets its *_FILE variables read, all created outside the stack', () => {
    for (const [name, spec] of Object.entries(services)) {
      const mounted = secretsOf(spec).map((mount) => mount.target).sort();
      const read = Object.values(environmentOf(spec)).filter((value) => value.startsWith('/run/secrets/')).sort();
      expect(mounted, name).toEqual(read);
      for (const mount of secretsOf(spec)) expect(stack.secrets?.[mount.source]?.external, `${name}: ${mount.source}`).toBe(true);
    }
    expect(Object.keys(stack.secrets ?? {}).sort()).toEqual(['admin_password', 'database_url', 'internal_token', 'mysql_password', 'mysql_root_password', 'tls_cert', 'tls_key']);
  });

  it('networks: only NGINX publishes (80 and 443); the database and Redis are internal only, the workers not public', () => {
    expect(stack.networks?.public).toMatchObject({ driver: 'overlay' });
    expect(stack.networks?.internal).toMatchObject({ driver: 'overlay', internal: true });
    expect(stack.networks?.egress).toEqual({ driver: 'overlay' });
    for (const [name, spec] of Object.entries(services)) {
      if (name !== 'nginx') expect(spec.ports, name).toBeUndefined();
    }
    const ports = service('nginx').ports as { target: number; published: number; mode: string }[];
    expect(ports.map((p) => [p.published, p.target, p.mode])).toEqual([[80, 80, 'host'], [443, 443, 'host']]);
    expect(networksOf(service('nginx'))).toEqual(['public']);
    for (const name of API) expect(networksOf(service(name)).sort(), name).toEqual(['internal', 'public']);
    for (const name of [...WORKERS, 'migrate']) expect(networksOf(service(name)), name).toEqual(['internal', 'egress']);
    for (const name of ['mysql', 'redis']) expect(networksOf(service(name)), name).toEqual(['internal']);
  });

  it('health checks, replicas, start-first rolling updates with rollback, restarts, limits and grace periods', () => {
    expect(service('catalog').deploy?.replicas).toBe(2);
    expect(service('payment-worker').deploy?.replicas).toBe(2);
    for (const name of LONG_RUNNING) {
      const spec = service(name);
      expect(spec.healthcheck?.test, name).toEqual(['CMD', 'node', '/app/docker/healthcheck.mjs']);
      expect(spec.deploy?.update_config, name).toMatchObject({ order: 'start-first', failure_action: 'rollback' });
      expect(spec.deploy?.rollback_config, name).toBeDefined();
      expect(spec.deploy?.restart_policy?.condition, name).toBe('any');
      expect(spec.deploy?.resources?.limits, name).toMatchObject({ cpus: expect.any(String), memory: expect.any(String) });
      const shutdownMs = Number(environmentOf(spec).SHUTDOWN_TIMEOUT_MS ?? 10_000);
      expect(seconds(spec.stop_grace_period), name).toBeGreaterThan(shutdownMs / 1000);
    }
    for (const name of WORKERS) expect(seconds(service(name).stop_grace_period), name).toBeGreaterThanOrEqual(60);
    expect(service('migrate').healthcheck?.disable).toBe(true);
    expect(service('migrate').deploy?.restart_policy?.condition).toBe('on-failure');
    for (const name of ['nginx', 'mysql', 'redis']) {
      expect(service(name).healthcheck?.test, name).toBeDefined();
      // Never two of them on one port (nginx, host mode) or one data directory (mysql, redis).
      expect(service(name).deploy?.update_config?.order, name).toBe('stop-first');
      expect(service(name).deploy?.resources?.limits, name).toBeDefined();
    }
  });

  it('reservations leave room, on the documented smallest node, for the scale examples and a start-first update of every app service at once', () => {
    const node = smallestNode();
    expect(readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8')).toContain(`${node.cpus} CPUs, ${node.gib} GiB`);
    const scaled = scaleExamples();
    expect(scaled).toMatchObject({ 'payment-worker': 5, catalog: expect.any(Number) });
    expect(scaled.catalog).toBeGreaterThanOrEqual(3);
    let cpus = 0;
    let bytes = 0;
    const rows: string[] = [];
    for (const [name, spec] of Object.entries(services)) {
      if (name === 'migrate') continue; // one-shot, done before anything scales; reserves nothing
      const reserved = spec.deploy?.resources?.reservations;
      expect(reserved?.cpus, `${name} reserves CPU`).toBeDefined();
      expect(reserved?.memory, `${name} reserves memory`).toBeDefined();
      const replicas = spec.deploy?.mode === 'global' ? 1 : (scaled[name] ?? spec.deploy?.replicas ?? 1);
      // `docker stack deploy` updates every service at once: a start-first one has one task more meanwhile.
      const tasks = replicas + (spec.deploy?.update_config?.order === 'start-first' ? 1 : 0);
      cpus += tasks * Number(reserved!.cpus);
      bytes += tasks * memoryBytes(reserved!.memory!);
      rows.push(`${name} ${tasks}×(${reserved!.cpus} CPU, ${reserved!.memory})`);
    }
    console.log(`reserved at the scale examples during an update: ${rows.join(', ')} = ${cpus.toFixed(2)} CPUs, ${(bytes / 2 ** 30).toFixed(2)} GiB of ${node.cpus} CPUs, ${node.gib} GiB`);
    expect(Math.round(cpus * 1000)).toBeLessThanOrEqual(node.cpus * 1000);
    // Swarm weighs reservations against the node's whole memory; keep 512 MiB for the system and Docker.
    expect(bytes).toBeLessThanOrEqual(node.gib * 2 ** 30 - 512 * 2 ** 20);
  });

  it('every service that NGINX or another service calls answers by DNS round robin (dnsrr), with no virtual IP', () => {
    const called = new Set<string>(['mysql']); // the host of the database_url secret (docs/deploy.md)
    for (const spec of Object.values(services)) {
      for (const value of Object.values(environmentOf(spec))) {
        for (const match of value.matchAll(/^(?:tasks\.)?([a-z][a-z0-9-]*):\d+$|^[a-z]+:\/\/(?:[^@/]*@)?([a-z][a-z0-9-]*):\d+/g)) {
          const host = match[1] ?? match[2]!;
          if (services[host]) called.add(host);
        }
      }
    }
    expect([...called].sort()).toEqual(['auth', 'catalog', 'mysql', 'purchase', 'redis', 'storefront']);
    for (const name of called) expect(service(name).deploy?.endpoint_mode, name).toBe('dnsrr');
  });

  it('a replaced API task drains longer than NGINX caches DNS and than Node keeps connections idle, and its grace period covers drain and shutdown', () => {
    const template = readFileSync(join(ROOT, stack.configs!.nginx_template!.file!), 'utf8');
    const valid = seconds(/resolver \$\{NGINX_RESOLVER\} valid=(\d+s)/.exec(template)?.[1]);
    expect(valid).toBeGreaterThan(0);
    expect(valid).toBeLessThanOrEqual(5);
    expect(seconds(/proxy_connect_timeout (\S+);/.exec(template)?.[1])).toBeLessThanOrEqual(1);
    expect(template).toMatch(/proxy_next_upstream error timeout http_502 http_503 http_504;/);
    expect(template).not.toMatch(/^\s*proxy_next_upstream\b[^;]*non_idempotent/m);
    expect(template).not.toMatch(/^\s*keepalive\s/m);
    for (const name of API) {
      const spec = service(name);
      expect(spec.deploy?.replicas, name).toBeGreaterThanOrEqual(2);
      const env = environmentOf(spec);
      const drainS = Number(env.SHUTDOWN_DRAIN_MS) / 1000;
      expect(drainS, name).toBeGreaterThan(valid + 2);
      expect(drainS, `${name}: longer than Node's 5 s keep-alive timeout`).toBeGreaterThan(5);
      const shutdownS = Number(env.SHUTDOWN_TIMEOUT_MS ?? 10_000) / 1000;
      expect(seconds(spec.stop_grace_period), name).toBeGreaterThanOrEqual(drainS + shutdownS + 5);
    }
    for (const name of WORKERS) expect(environmentOf(service(name)), `${name} has no callers to wait for`).not.toHaveProperty('SHUTDOWN_DRAIN_MS');
  });

  it('MySQL and Redis keep their data in volumes; Redis with AOF and noeviction, as BullMQ requires', () => {
    expect(service('mysql').volumes).toEqual(['mysql-data:/var/lib/mysql']);
    expect(service('redis').volumes).toEqual(['redis-data:/data']);
    const redis = (service('redis').command as string[]).join(' ');
    expect(redis).toContain('--appendonly yes');
    expect(redis).toContain('--maxmemory-policy noeviction');
    expect(Object.keys(stack.volumes ?? {}).sort()).toEqual(['mysql-data', 'redis-data']);
  });

  it('NGINX: its config is a Swarm config rendered from the template, and the template needs exactly the variables the stack sets', () => {
    const [mount] = configsOf(service('nginx'));
    expect(mount).toEqual({ source: 'nginx_template', target: '/etc/nginx/templates/default.conf.template' });
    const template = readFileSync(join(ROOT, stack.configs!.nginx_template!.file!), 'utf8');
    const env = environmentOf(service('nginx'));
    expect(() => renderTemplate(template, env)).not.toThrow();
    const used = new Set([...template.replace(/^\s*#.*$/gm, '').matchAll(/\$\{(NGINX_[A-Z_]+)\}/g)].map((m) => m[1]));
    expect([...used].sort()).toEqual(Object.keys(env).sort());
    expect(env.NGINX_RESOLVER).toBe('127.0.0.11');
    for (const name of API) expect(env[`NGINX_${name.toUpperCase()}_UPSTREAM`]).toBe(`tasks.${name}:3000`);
  });
});

describe('the image', () => {
  it('is multi-stage: built with dev dependencies, run on node:20-bookworm-slim with production ones, as a non-root user', () => {
    expect(image.bases.length).toBeGreaterThanOrEqual(3);
    expect(image.bases.at(-1)).toBe('node:20-bookworm-slim');
    expect(image.text).toMatch(/npm ci --omit=dev/);
    expect(image.text).toMatch(/npm run build/);
    expect(image.text).toMatch(/python3 make g\+\+/);
    expect(image.user).toBe('node');
    expect(image.env).toMatchObject({ NODE_ENV: 'production', BOOKSTORE_MIGRATE: 'false' });
    expect(image.text).toMatch(/^EXPOSE 3000$/m);
    expect(image.healthcheck).toEqual(['node', '/app/docker/healthcheck.mjs']);
    expect(image.entrypoint).toEqual(['/app/docker/entrypoint.sh']);
    expect(image.cmd).toEqual(['serve']);
    const runtime = image.text.slice(image.text.lastIndexOf('FROM '));
    expect(runtime).not.toMatch(/COPY\s+(\.|test|bench|data|docker\/certs)\b/);
    expect(runtime).not.toMatch(/secret|password|token/i);
  });

  it('its entrypoint runs the compiled kernel: serve and migrate map to existing sources', () => {
    expect(entrypointCommands(join(ROOT, 'docker/entrypoint.sh'), ROOT)).toEqual({
      serve: ['kernel/main.ts'],
      migrate: ['kernel/cli/migrate.ts', 'up'],
    });
  });

  it('.dockerignore keeps dependencies, build output, data, certificates, secrets and tests out of the context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim());
    for (const entry of ['.git', 'node_modules', 'dist', 'data', '*.db', 'test', '**/*.test.ts', 'bench', '.env', '*.key', '*.pem', 'docker/certs/out']) {
      expect(ignored, entry).toContain(entry);
    }
    expect(existsSync(join(ROOT, 'docker/certs/make-local-ca.sh'))).toBe(true);
  });
});
