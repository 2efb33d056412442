/**
 * The stack on loopback: stack.yml's own definition run as local processes, since no container
 * can run here. For every app service it starts the service's command with the service's
 * environment (plus the image's ENV), as many processes as the service has replicas; secrets become
 * files; service names become loopback ports; the one-shot migrate service runs first. NGINX
 * (Debian's) runs the project's template rendered for loopback, in front of them, with HTTPS.
 *
 * Differences from Swarm, on purpose and only these:
 *  - the code runs from the TypeScript sources (`node --import tsx kernel/main.ts`) instead of the
 *    image's `node dist/kernel/main.js`: the entrypoint's subcommands are mapped one to one;
 *  - mysql and redis are the local MariaDB and Redis, with a scratch database and key prefix;
 *  - Swarm's DNS is replaced by upstream{} blocks named after the services (for nginx; rewritten
 *    and reloaded when replicas come and go, as DNS answers change) and small round-robin TCP
 *    forwarders standing in for the services' dnsrr names (for service-to-service URLs such as
 *    AUTH_URL=http://auth:3000: each new connection goes to one replica that is in "DNS", open
 *    connections stay where they are). Replicas listen on ports of 127.0.0.1, not on addresses of
 *    their own, so nginx's resolver itself (`valid=`) is not exercised: `replace()` keeps a leaving
 *    replica in nginx's upstreams for as long as a cached answer could;
 *  - ports 80/443 become free high loopback ports; LOG_LEVEL is info (the test reads request logs);
 *  - `extraEnv` may add variables the stack leaves at their defaults (the test shortens the
 *    simulated payment and delivery delays).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loopbackMainConf, renderTemplate, upstreamBlocks } from '../../docker/nginx/render.js';
import {
  commandOf,
  configsOf,
  entrypointCommands,
  environmentOf,
  isOneShot,
  loadStackFile,
  readDockerfile,
  replicasOf,
  secretsOf,
  stackDir,
  type ImageDefinition,
  type ServiceSpec,
  type StackFile,
} from './stack-file.js';
import { freePort } from '../harness.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const IN_CI = process.env.CI === 'true';

/** Services that are infrastructure, not the BookStore image: mapped to local servers or run as nginx. */
const EDGE = 'nginx';
const INFRASTRUCTURE = ['mysql', 'redis'];

/** Debian's nginx: on the PATH, or in /usr/sbin (not on every user's PATH). */
const NGINX = ['nginx', '/usr/sbin/nginx'].find((candidate) => spawnSync(candidate, ['-v']).status === 0) ?? 'nginx';

/**
 * Whether Debian's nginx is installed. Outside CI a missing one skips the test file with one line;
 * under CI=true it fails (.ci/run installs it).
 */
export function nginxAvailable(file: string): boolean {
  const probe = spawnSync(NGINX, ['-v'], { encoding: 'utf8' });
  if (probe.status === 0) return true;
  const message = `${file}: nginx is not installed (apt-get install -y nginx)`;
  if (IN_CI) throw new Error(`${message} (CI=true: failing instead of skipping)`);
  console.warn(`SKIPPED ${message}`);
  return false;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** One local process standing in for one task of a service. */
export class Replica {
  private log = '';
  /** Whether service discovery names it (Swarm: in DNS; here: in nginx's upstreams and the forwarder). */
  listed = true;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(
    readonly service: string,
    readonly index: number,
    readonly port: number,
    command: string[],
    env: Record<string, string>,
  ) {
    this.child = spawn(command[0]!, command.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (chunk: Buffer) => (this.log += chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.log += chunk.toString()));
    this.exited = once(this.child, 'exit').then(([code]) => code as number | null);
  }

  get name(): string {
    return `${this.service}.${this.index}`;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  output(): string {
    return this.log;
  }

  /** The JSON log lines this process wrote (pino), e.g. one `request` line per HTTP request. */
  logLines(): Record<string, unknown>[] {
    return this.log.split('\n').flatMap((line) => {
      if (!line.startsWith('{')) return [];
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  requestsFor(path: string): number {
    return this.logLines().filter((line) => line.msg === 'request' && line.path === path).length;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<number | null> {
    if (!this.running) return this.child.exitCode;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/**
 * A round-robin TCP forwarder over a service's listed replicas: what a dnsrr service name is to a
 * client that looks it up for each new connection and tries the next address when one refuses
 * (Node's connect with several addresses). Open connections stay with their replica.
 */
class VirtualIp {
  private next = 0;
  private readonly sockets = new Set<Socket>();
  readonly server: Server;

  constructor(private readonly replicas: () => Replica[]) {
    this.server = createServer((client) => this.forward(client, 0));
  }

  async listen(port: number) {
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
  }

  private forward(client: Socket, attempt: number) {
    const live = this.replicas().filter((replica) => replica.running && replica.listed);
    if (attempt >= Math.max(live.length, 1)) {
      client.destroy();
      return;
    }
    const target = live[this.next++ % live.length];
    if (!target) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, '127.0.0.1');
    this.sockets.add(client).add(upstream);
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.on('error', () => {
      this.sockets.delete(upstream);
      if (connected) client.destroy();
      else this.forward(client, attempt + 1);
    });
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      if (connected) client.destroy();
    });
    client.on('error', () => upstream.destroy());
    client.on('close', () => {
      this.sockets.delete(client);
      upstream.destroy();
    });
  }

  async close() {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((done) => this.server.close(() => done(undefined)));
  }
}

export interface LoopbackOptions {
  /** The scratch database (mysql://…) that the database_url secret holds. */
  databaseUrl: string;
  /** The local Redis and the scratch key prefix that replaces REDIS_KEY_PREFIX. */
  redis: { url: string; prefix: string };
  /** PEM files of the server certificate (chain) and key, for the tls_cert / tls_key secrets. */
  tls: { cert: string; key: string };
  stackFile?: string;
  /** Variables for the stack file's interpolation (default: none, i.e. the file's defaults). */
  stackEnv?: Record<string, string>;
  /**
   * Variables every app service gets on top of its stack.yml environment. Only for knobs the stack
   * leaves at their defaults, e.g. shorter simulated payment and delivery delays to keep tests fast.
   */
  extraEnv?: Record<string, string>;
}

/** Values of the stack's secrets on loopback. A secret the harness does not know fails loudly. */
function secretValues(options: LoopbackOptions): Record<string, () => string> {
  const random = () => randomBytes(24).toString('base64url');
  return {
    database_url: () => options.databaseUrl,
    internal_token: random,
    admin_password: random,
    mysql_password: random,
    mysql_root_password: random,
    tls_cert: () => readFileSync(options.tls.cert, 'utf8'),
    tls_key: () => readFileSync(options.tls.key, 'utf8'),
  };
}

export class LoopbackStack {
  readonly stack: StackFile;
  readonly image: ImageDefinition;
  readonly dir: string;
  readonly replicas = new Map<string, Replica[]>();
  /** The values written for each secret, by secret name (for tests that sign in as the admin). */
  readonly secrets = new Map<string, string>();
  /** The environment each app service was started with (first replica; PORT differs per replica). */
  readonly environments = new Map<string, Record<string, string>>();
  readonly oneShots = new Map<string, { code: number | null; output: string }>();
  nginx: ChildProcess | undefined;
  nginxOutput = '';
  httpPort = 0;
  httpsPort = 0;
  private readonly vips = new Map<string, { port: number; vip: VirtualIp }>();
  private readonly commands: Record<string, string[]>;
  private readonly nginxDir: string;
  /** The services nginx reaches through tasks.<service>, and the replicas its upstreams name now. */
  private readonly nginxServices = new Set<string>();
  private publishedUpstreams = '';

  constructor(private readonly options: LoopbackOptions) {
    this.stack = loadStackFile(options.stackFile ?? join(ROOT, 'stack.yml'), options.stackEnv ?? {});
    this.image = readDockerfile(join(ROOT, 'docker/Dockerfile'));
    this.commands = entrypointCommands(join(ROOT, 'docker/entrypoint.sh'), ROOT);
    this.dir = mkdtempSync(join(tmpdir(), 'bookstore-stack-'));
    // nginx's worker processes (another user when the test runs as root) read below this directory.
    chmodSync(this.dir, 0o755);
    this.nginxDir = join(this.dir, 'nginx');
  }

  get appServices(): string[] {
    return Object.keys(this.stack.services).filter((name) => name !== EDGE && !INFRASTRUCTURE.includes(name));
  }

  get httpsUrl(): string {
    return `https://localhost:${this.httpsPort}`;
  }

  service(name: string): ServiceSpec {
    const spec = this.stack.services[name];
    if (!spec) throw new Error(`stack.yml has no service ${name}`);
    return spec;
  }

  /** The local command for a service: the entrypoint subcommand mapped to its TypeScript source. */
  private localCommand(name: string): string[] {
    const command = commandOf(this.service(name), this.image);
    const [subcommand = 'serve', ...args] = command;
    const source = this.commands[subcommand];
    if (!source) throw new Error(`service ${name}: command ${JSON.stringify(command)} is not an entrypoint subcommand (${Object.keys(this.commands).join(', ')})`);
    return [process.execPath, '--import', 'tsx', ...source, ...args];
  }

  /** Writes the service's secrets as files; returns container path → local file. */
  private writeSecrets(name: string): Map<string, string> {
    const values = secretValues(this.options);
    const dir = join(this.dir, 'secrets', name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const files = new Map<string, string>();
    for (const mount of secretsOf(this.service(name))) {
      if (!this.stack.secrets?.[mount.source]) throw new Error(`service ${name}: secret ${mount.source} is not declared under secrets:`);
      const make = values[mount.source];
      if (!make) throw new Error(`the loopback harness has no value for secret ${mount.source}; add one to secretValues()`);
      if (!this.secrets.has(mount.source)) this.secrets.set(mount.source, make());
      const file = join(dir, mount.target.replace(/^\/run\/secrets\//, '').replaceAll('/', '_'));
      writeFileSync(file, `${this.secrets.get(mount.source)!}\n`, { mode: 0o600 });
      files.set(mount.target, file);
    }
    return files;
  }

  /** host:port of a URL's service name on loopback (app services: their virtual IP). */
  private loopbackAddress(host: string): string | undefined {
    if (host === 'mysql') return new URL(this.options.databaseUrl).host;
    if (host === 'redis') return new URL(this.options.redis.url).host;
    const vip = this.vips.get(host);
    return vip ? `127.0.0.1:${vip.port}` : undefined;
  }

  /** The service's environment on loopback: service names → loopback, /run/secrets/… → files. */
  private loopbackEnv(name: string, secretFiles: Map<string, string>): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(environmentOf(this.service(name)))) {
      let local = value.replace(/\b([a-z][a-z0-9+.-]*:\/\/(?:[^@/\s]*@)?)([a-z][a-z0-9-]*):(\d+)/g, (whole, prefix: string, host: string) => {
        const address = this.loopbackAddress(host);
        return address ? `${prefix}${address}` : whole;
      });
      if (local.startsWith('/run/secrets/')) {
        const file = secretFiles.get(local);
        if (!file) throw new Error(`service ${name}: ${key}=${local}, but the service does not mount that secret`);
        local = file;
      }
      env[key] = local;
    }
    return env;
  }

  /** Starts one more replica of a service and waits until it is healthy, as Swarm would before routing to it. */
  private async startReplica(name: string, env: Record<string, string>): Promise<Replica> {
    const list = this.replicas.get(name) ?? [];
    this.replicas.set(name, list);
    const port = await freePort();
    const replica = new Replica(name, list.length + 1, port, this.localCommand(name), { ...env, PORT: String(port) });
    list.push(replica);
    const deadline = Date.now() + 45_000;
    for (;;) {
      if (!replica.running) throw new Error(`${replica.name} exited with ${replica.child.exitCode}:\n${replica.output()}`);
      if (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) break;
      if (Date.now() > deadline) throw new Error(`${replica.name} did not become healthy:\n${replica.output()}`);
      await sleep(150);
    }
    await this.runHealthcheck(name, port);
    return replica;
  }

  /**
   * Runs the service's own health check command (stack healthcheck, else the image's) against a
   * replica, with room for a node start on two busy cores (the stack's own timeout is 10 s).
   */
  private async runHealthcheck(name: string, port: number) {
    const spec = this.service(name).healthcheck;
    if (spec?.disable) return;
    const test = spec?.test ?? this.image.healthcheck;
    if (!test) throw new Error(`service ${name} has no health check`);
    const argv = Array.isArray(test) ? (test[0] === 'CMD' ? test.slice(1) : test) : ['sh', '-c', test];
    const local = argv.map((arg) => (arg === 'node' ? process.execPath : arg.replace(/^\/app\//, `${ROOT}/`)));
    const result = spawnSync(local[0]!, local.slice(1), { env: { PATH: process.env.PATH ?? '', PORT: String(port) }, encoding: 'utf8', timeout: 15_000 });
    if (result.status !== 0) throw new Error(`service ${name}: health check ${JSON.stringify(argv)} failed (${result.status}): ${result.stderr}`);
  }

  async start(): Promise<void> {
    const envs = new Map<string, Record<string, string>>();
    // Virtual IPs first: every service's URLs can then be rewritten to them.
    for (const name of this.appServices) {
      const vip = new VirtualIp(() => this.replicas.get(name) ?? []);
      const port = await freePort();
      await vip.listen(port);
      this.vips.set(name, { port, vip });
    }
    for (const name of this.appServices) {
      const env = {
        PATH: process.env.PATH ?? '',
        ...this.image.env,
        ...this.loopbackEnv(name, this.writeSecrets(name)),
        ...this.options.extraEnv,
        REDIS_KEY_PREFIX: this.options.redis.prefix,
        LOG_LEVEL: 'info',
      };
      envs.set(name, env);
      this.environments.set(name, env);
    }

    // The one-shot tasks (migrate) run to completion before the others start.
    for (const [name, env] of envs) {
      if (!isOneShot(this.service(name))) continue;
      const port = await freePort();
      const task = new Replica(name, 1, port, this.localCommand(name), { ...env, PORT: String(port) });
      const code = await Promise.race([task.exited, sleep(60_000).then(() => 'timeout' as const)]);
      if (code === 'timeout') await task.stop('SIGKILL');
      this.oneShots.set(name, { code: code === 'timeout' ? null : code, output: task.output() });
      if (code !== 0) throw new Error(`one-shot service ${name} ended with ${code}:\n${task.output()}`);
    }

    // Long-running services side by side (Swarm has no start order); a service's replicas one by one.
    await Promise.all(
      [...envs].filter(([name]) => !isOneShot(this.service(name))).map(async ([name, env]) => {
        for (let index = 1; index <= replicasOf(this.service(name)); index++) await this.startReplica(name, env);
      }),
    );

    await this.startNginx();
  }

  /** The replicas of a service that are running now, oldest first. */
  running(name: string): Replica[] {
    return (this.replicas.get(name) ?? []).filter((replica) => replica.running);
  }

  /**
   * `docker service scale <service>=<replicas>`: starts replicas (each waited for until healthy),
   * or stops the newest ones with SIGTERM, as Swarm does, waiting for them to exit.
   */
  async scale(name: string, replicas: number): Promise<void> {
    const env = this.environments.get(name);
    if (!env) throw new Error(`service ${name} is not running`);
    while (this.running(name).length < replicas) await this.startReplica(name, env);
    await this.publish();
    const surplus = this.running(name).slice(replicas);
    for (const replica of surplus) replica.listed = false;
    await Promise.all(surplus.map((replica) => replica.stop('SIGTERM', 60_000)));
    await this.publish();
  }

  /**
   * One step of a start-first rolling update (`docker service update --force`): a new replica is
   * started and, once healthy, named by service discovery; the oldest one leaves it and gets
   * SIGTERM at once (Swarm waits 2 s between the two: this is stricter), while nginx keeps its
   * address for `staleMs` more, as a DNS answer cached before the change would. Answers the old
   * replica's exit code.
   */
  async replace(name: string, staleMs: number): Promise<{ old: Replica; fresh: Replica; code: number | null }> {
    const env = this.environments.get(name);
    const [old] = this.running(name).filter((replica) => replica.listed);
    if (!env || !old) throw new Error(`service ${name} has no running replica to replace`);
    const fresh = await this.startReplica(name, env);
    await this.publish();
    old.listed = false;
    const exited = old.stop('SIGTERM', 60_000);
    await sleep(staleMs);
    await this.publish();
    return { old, fresh, code: await exited };
  }

  /** The replicas service discovery names now, per service nginx reaches. */
  private listedAddresses(): Record<string, string[]> {
    const listed = (service: string) => (this.replicas.get(service) ?? []).filter((replica) => replica.listed && replica.running);
    return Object.fromEntries([...this.nginxServices].map((service) => [service, listed(service).map((replica) => `127.0.0.1:${replica.port}`)]));
  }

  /** The upstream groups standing in for tasks.<service>. */
  private async upstreamGroups(): Promise<Record<string, string[]>> {
    const groups = this.listedAddresses();
    // A service with no task: a port nothing listens on, as a name with no DNS record.
    for (const [service, servers] of Object.entries(groups)) if (servers.length === 0) groups[service] = [`127.0.0.1:${await freePort()}`];
    return groups;
  }

  /** Tells nginx the replicas service discovery names now (a reload, as a new DNS answer), if they changed. */
  private async publish(): Promise<void> {
    if (!this.nginx || this.nginx.exitCode !== null) return;
    const names = JSON.stringify(this.listedAddresses());
    if (names === this.publishedUpstreams) return;
    writeFileSync(join(this.nginxDir, 'upstreams.conf'), upstreamBlocks(await this.upstreamGroups()));
    this.publishedUpstreams = names;
    this.nginx.kill('SIGHUP');
    // nginx starts workers with the new configuration and lets the old ones finish their requests.
    await sleep(500);
  }

  /** The nginx environment on loopback and the upstream groups that stand in for tasks.<service>. */
  private async nginxSetup(): Promise<{ env: Record<string, string>; groups: Record<string, string[]> }> {
    const nginx = this.service(EDGE);
    const files = this.writeSecrets(EDGE);
    const env: Record<string, string> = {};
    const published = new Map<number, number>();
    for (const port of (nginx.ports ?? []) as { target: number; published: number }[]) {
      published.set(port.target, await freePort());
    }
    this.httpPort = published.get(80) ?? 0;
    this.httpsPort = published.get(443) ?? 0;
    if (!this.httpPort || !this.httpsPort) throw new Error('nginx must publish ports 80 and 443');
    for (const [key, value] of Object.entries(environmentOf(nginx))) {
      let local = value;
      const task = /^tasks\.([a-z][a-z0-9-]*):(\d+)$/.exec(value);
      if (task) {
        const service = task[1]!;
        if (!this.stack.services[service]) throw new Error(`nginx ${key}=${value}: no service ${service}`);
        this.nginxServices.add(service);
        local = service;
      } else if (value === '127.0.0.11') {
        local = '127.0.0.1';
      } else if (/^\d+$/.test(value) && published.has(Number(value))) {
        local = `127.0.0.1:${published.get(Number(value))}`;
      } else if (value.startsWith('/run/secrets/')) {
        const file = files.get(value);
        if (!file) throw new Error(`nginx ${key}=${value}, but nginx does not mount that secret`);
        local = file;
      }
      env[key] = local;
    }
    if (!('NGINX_HTTPS_PORT_SUFFIX' in env)) throw new Error('nginx: NGINX_HTTPS_PORT_SUFFIX is not set in stack.yml');
    env.NGINX_HTTPS_PORT_SUFFIX = `:${this.httpsPort}`;
    return { env, groups: await this.upstreamGroups() };
  }

  private nginxArgs(...extra: string[]): string[] {
    return ['-p', `${this.nginxDir}/`, '-c', join(this.nginxDir, 'nginx.conf'), '-e', 'stderr', ...extra];
  }

  private async startNginx() {
    const { env, groups } = await this.nginxSetup();
    for (const sub of ['conf.d', 'temp']) mkdirSync(join(this.nginxDir, sub), { recursive: true });
    chmodSync(this.nginxDir, 0o755);
    const templates = configsOf(this.service(EDGE));
    if (templates.length === 0) throw new Error('nginx has no configs');
    for (const mount of templates) {
      // The nginx image renders /etc/nginx/templates/X.template into /etc/nginx/conf.d/X.
      const match = /^\/etc\/nginx\/templates\/(.+)\.template$/.exec(mount.target);
      if (!match) throw new Error(`nginx config ${mount.source} must target /etc/nginx/templates/*.template, not ${mount.target}`);
      const file = this.stack.configs?.[mount.source]?.file;
      if (!file) throw new Error(`config ${mount.source} has no file`);
      const template = readFileSync(resolve(stackDir(this.stack), file), 'utf8');
      writeFileSync(join(this.nginxDir, 'conf.d', match[1]!), renderTemplate(template, env));
    }
    this.publishedUpstreams = JSON.stringify(this.listedAddresses());
    writeFileSync(join(this.nginxDir, 'upstreams.conf'), upstreamBlocks(groups));
    writeFileSync(join(this.nginxDir, 'nginx.conf'), loopbackMainConf(this.nginxDir));

    // The template logs requests to /dev/stdout (the container's log). A pipe from node is a socket,
    // which /dev/stdout cannot be opened on, so nginx's stdout here is a file.
    const accessLog = openSync(this.accessLogFile, 'a');
    this.nginx = spawn(NGINX, this.nginxArgs('-g', `daemon off; pid ${join(this.nginxDir, 'nginx.pid')};`), { stdio: ['ignore', accessLog, 'pipe'] });
    closeSync(accessLog);
    this.nginx.stderr!.on('data', (chunk: Buffer) => (this.nginxOutput += chunk.toString()));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (this.nginx.exitCode !== null) throw new Error(`nginx exited with ${this.nginx.exitCode}:\n${this.nginxOutput}`);
      const up = await new Promise<boolean>((done) => {
        const socket = connect(this.httpsPort, '127.0.0.1');
        socket.once('connect', () => done(true)).once('error', () => done(false));
        socket.unref();
        setTimeout(() => socket.destroy(), 500);
      });
      if (up) break;
      if (Date.now() > deadline) throw new Error(`nginx did not start listening:\n${this.nginxOutput}`);
      await sleep(100);
    }
  }

  get accessLogFile(): string {
    return join(this.nginxDir, 'access.log');
  }

  /** NGINX's JSON access log lines (bookstore_json format). */
  accessLog(): Record<string, unknown>[] {
    return readFileSync(this.accessLogFile, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** `nginx -t` on the rendered configuration. */
  nginxTest(): { status: number | null; output: string } {
    const stdout = openSync(join(this.nginxDir, 'nginx-test.out'), 'w');
    const result = spawnSync(NGINX, this.nginxArgs('-t', '-g', `pid ${join(this.nginxDir, 'nginx-test.pid')};`), { encoding: 'utf8', stdio: ['ignore', stdout, 'pipe'] });
    closeSync(stdout);
    return { status: result.status, output: `${readFileSync(join(this.nginxDir, 'nginx-test.out'), 'utf8')}${result.stderr}` };
  }

  /** The rendered site configuration (conf.d), for assertions and for a failing test's message. */
  renderedConfig(): string {
    return readFileSync(join(this.nginxDir, 'conf.d', 'default.conf'), 'utf8');
  }

  async stop(): Promise<void> {
    const stops: Promise<unknown>[] = [];
    if (this.nginx && this.nginx.exitCode === null) {
      const exited = once(this.nginx, 'exit');
      this.nginx.kill('SIGTERM');
      const timer = setTimeout(() => this.nginx?.kill('SIGKILL'), 5000);
      stops.push(exited.finally(() => clearTimeout(timer)));
    }
    for (const list of this.replicas.values()) for (const replica of list) stops.push(replica.stop());
    await Promise.all(stops);
    for (const { vip } of this.vips.values()) await vip.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
