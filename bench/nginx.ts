/**
 * NGINX in front of the split services, as in the loopback stack: Debian's nginx runs the project's
 * own template (docker/nginx/bookstore.conf.template) rendered by docker/nginx/render.ts, with
 * upstream{} blocks named after the services standing in for Swarm's DNS, over HTTPS with a local
 * certificate (docker/certs/make-local-ca.sh). Two differences from the stack test, both to mirror
 * the production image rather than the test: `worker_processes auto` (the nginx image's setting;
 * the loopback test pins 1) and the JSON access log goes to /dev/null instead of a file.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loopbackMainConf, renderTemplate, upstreamBlocks } from '../docker/nginx/render.js';
import { childPids, freePort, OUT, ROOT, runToEnd, sleep, type Watched } from './processes.js';

export const SERVER_NAME = 'localhost';

export function nginxInstalled(): boolean {
  return spawnSync('nginx', ['-v'], { encoding: 'utf8' }).status === 0;
}

export function nginxVersion(): string {
  const probe = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  return probe.status === 0 ? probe.stderr.trim().replace(/^nginx version: nginx\//, '') : 'not installed';
}

/** The local CA and server certificate (made once under bench/out/tls, reused afterwards). */
async function certificate(): Promise<{ cert: string; key: string }> {
  const dir = join(OUT, 'tls');
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  if (!existsSync(cert) || !existsSync(key)) await runToEnd(['sh', join(ROOT, 'docker/certs/make-local-ca.sh'), dir], {});
  return { cert, key };
}

export interface Edge {
  name: string;
  /** https://127.0.0.1:<port> */
  url: string;
  watched: Watched;
  stop(): Promise<void>;
}

/** Starts an nginx whose auth/catalog/purchase upstreams are the given host:port lists. */
export async function startNginx(name: string, groups: { auth: string[]; catalog: string[]; purchase: string[] }): Promise<Edge> {
  const { cert, key } = await certificate();
  const dir = mkdtempSync(join(tmpdir(), 'bookstore-bench-nginx-'));
  // nginx's workers (another user when this runs as root) read below this directory.
  chmodSync(dir, 0o755);
  for (const sub of ['conf.d', 'temp']) mkdirSync(join(dir, sub), { recursive: true });
  const httpPort = await freePort();
  const httpsPort = await freePort();
  const env = {
    NGINX_SERVER_NAME: SERVER_NAME,
    NGINX_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
    NGINX_HTTPS_LISTEN: `127.0.0.1:${httpsPort}`,
    NGINX_HTTPS_PORT_SUFFIX: `:${httpsPort}`,
    NGINX_RESOLVER: '127.0.0.1',
    NGINX_AUTH_UPSTREAM: 'auth',
    NGINX_CATALOG_UPSTREAM: 'catalog',
    NGINX_PURCHASE_UPSTREAM: 'purchase',
    NGINX_TLS_CERTIFICATE: cert,
    NGINX_TLS_CERTIFICATE_KEY: key,
  };
  const template = readFileSync(join(ROOT, 'docker/nginx/bookstore.conf.template'), 'utf8');
  writeFileSync(join(dir, 'conf.d', 'default.conf'), renderTemplate(template, env));
  writeFileSync(join(dir, 'upstreams.conf'), upstreamBlocks(groups));
  writeFileSync(join(dir, 'nginx.conf'), loopbackMainConf(dir).replace(/^worker_processes 1;$/m, 'worker_processes auto;'));

  const devNull = openSync('/dev/null', 'a');
  const child: ChildProcess = spawn('nginx', ['-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-e', 'stderr', '-g', `daemon off; pid ${join(dir, 'nginx.pid')};`], {
    stdio: ['ignore', devNull, 'pipe'],
  });
  closeSync(devNull);
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx (${name}) exited with ${child.exitCode}:\n${output}`);
    const up = await new Promise<boolean>((done) => {
      const socket = connect(httpsPort, '127.0.0.1');
      socket.once('connect', () => done(true)).once('error', () => done(false));
      socket.unref();
      setTimeout(() => socket.destroy(), 500);
    });
    if (up) break;
    if (Date.now() > deadline) throw new Error(`nginx (${name}) did not start listening:\n${output}`);
    await sleep(100);
  }
  const pid = child.pid!;
  return {
    name,
    url: `https://127.0.0.1:${httpsPort}`,
    watched: { name, pids: () => [pid, ...childPids(pid)] },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
