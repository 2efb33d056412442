/**
 * Reading stack.yml and the image definition the way Docker would, for the loopback stack test and
 * the stack file checks: YAML with merge keys, Compose variable interpolation, and the pieces of a
 * service (environment, secrets, configs, command, replicas) in their normalised forms.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';

export interface ServiceSpec {
  image?: string;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  secrets?: (string | { source: string; target?: string; mode?: number })[];
  configs?: (string | { source: string; target?: string; mode?: number })[];
  networks?: string[] | Record<string, unknown>;
  ports?: unknown[];
  volumes?: unknown[];
  healthcheck?: { test?: string | string[]; disable?: boolean };
  init?: boolean;
  stop_grace_period?: string;
  deploy?: {
    mode?: string;
    replicas?: number;
    restart_policy?: { condition?: string };
    update_config?: { order?: string; failure_action?: string };
    rollback_config?: Record<string, unknown>;
    resources?: { limits?: Record<string, unknown>; reservations?: { cpus?: string; memory?: string } };
    endpoint_mode?: 'vip' | 'dnsrr';
    placement?: unknown;
  };
  [key: string]: unknown;
}

export interface StackFile {
  path: string;
  version?: string;
  services: Record<string, ServiceSpec>;
  networks?: Record<string, { driver?: string; internal?: boolean } | null>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { external?: boolean; name?: string; file?: string }>;
  configs?: Record<string, { external?: boolean; name?: string; file?: string }>;
}

/**
 * Compose's interpolation of one string: `$$` is a literal `$`; `${VAR}`, `$VAR`, `${VAR:-default}`,
 * `${VAR-default}`, `${VAR:+alternative}`, `${VAR:?error}` as in the Compose specification.
 */
export function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-+?])((?:[^{}]|\{[^{}]*\})*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, name?: string, colon?: string, op?: string, arg?: string, bare?: string) => {
    if (whole === '$$') return '$';
    if (bare) return env[bare] ?? '';
    const current = env[name!];
    const unset = colon ? current === undefined || current === '' : current === undefined;
    const argument = interpolate(arg ?? '', env);
    switch (op) {
      case '-':
        return unset ? argument : current!;
      case '+':
        return unset ? '' : argument;
      case '?':
        if (unset) throw new Error(`stack file: ${name} is required: ${argument}`);
        return current!;
      default:
        return current ?? '';
    }
  });
}

function interpolateAll(node: unknown, env: Record<string, string | undefined>): unknown {
  if (typeof node === 'string') return interpolate(node, env);
  if (Array.isArray(node)) return node.map((item) => interpolateAll(item, env));
  if (node && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([key, item]) => [key, interpolateAll(item, env)]));
  }
  return node;
}

/** The stack file as parsed YAML (merge keys resolved), before interpolation. */
export function parseStackYaml(path: string): Record<string, unknown> {
  return parse(readFileSync(path, 'utf8'), { merge: true }) as Record<string, unknown>;
}

/** The stack file as Docker sees it: merged, interpolated with `env`, extension fields (`x-…`) dropped. */
export function loadStackFile(path: string, env: Record<string, string | undefined> = {}): StackFile {
  const raw = interpolateAll(parseStackYaml(path), env) as Record<string, unknown>;
  const document = Object.fromEntries(Object.entries(raw).filter(([key]) => !key.startsWith('x-')));
  return { ...(document as Omit<StackFile, 'path'>), path: resolve(path) };
}

/** Every key, at any depth, named one of `names` (with its path), e.g. keys Swarm ignores. */
export function findKeys(node: unknown, names: readonly string[], path: string[] = []): string[] {
  if (Array.isArray(node)) return node.flatMap((item, index) => findKeys(item, names, [...path, String(index)]));
  if (!node || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) => [
    ...(names.includes(key) ? [[...path, key].join('.')] : []),
    ...findKeys(value, names, [...path, key]),
  ]);
}

export function environmentOf(service: ServiceSpec): Record<string, string> {
  const env = service.environment;
  if (!env) return {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.flatMap((entry) => {
        const at = entry.indexOf('=');
        return at < 0 ? [] : [[entry.slice(0, at), entry.slice(at + 1)]];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).flatMap(([key, value]) => (value === null || value === undefined ? [] : [[key, String(value)]])));
}

export interface Mount {
  source: string;
  /** Absolute path inside the container. */
  target: string;
}

/** Secrets mount at /run/secrets/<target> (target defaults to the secret's name). */
export function secretsOf(service: ServiceSpec): Mount[] {
  return (service.secrets ?? []).map((entry) => {
    const source = typeof entry === 'string' ? entry : entry.source;
    const target = typeof entry === 'string' ? entry : (entry.target ?? entry.source);
    return { source, target: target.startsWith('/') ? target : `/run/secrets/${target}` };
  });
}

/** Configs mount at their target (default /<name>). */
export function configsOf(service: ServiceSpec): Mount[] {
  return (service.configs ?? []).map((entry) => {
    const source = typeof entry === 'string' ? entry : entry.source;
    const target = typeof entry === 'string' ? `/${entry}` : (entry.target ?? `/${entry.source}`);
    return { source, target };
  });
}

export function networksOf(service: ServiceSpec): string[] {
  const networks = service.networks;
  if (!networks) return ['default'];
  return Array.isArray(networks) ? networks : Object.keys(networks);
}

export function replicasOf(service: ServiceSpec): number {
  return service.deploy?.mode === 'global' ? 1 : (service.deploy?.replicas ?? 1);
}

/** A one-shot task: restarted only on failure, so it runs to completion once per deployment. */
export function isOneShot(service: ServiceSpec): boolean {
  return service.deploy?.restart_policy?.condition === 'on-failure' || service.deploy?.restart_policy?.condition === 'none';
}

function words(value: string | string[]): string[] {
  return Array.isArray(value) ? value.map(String) : value.trim().split(/\s+/);
}

export interface ImageDefinition {
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  healthcheck: string[] | undefined;
  /** The stages' base images, in order. */
  bases: string[];
  /** `USER` of the final stage. */
  user: string | undefined;
  text: string;
}

/**
 * The parts of the final stage of a Dockerfile that decide how a container runs: ENV, USER,
 * ENTRYPOINT, CMD and HEALTHCHECK (exec forms only, which is all docker/Dockerfile uses).
 */
export function readDockerfile(path: string): ImageDefinition {
  const text = readFileSync(path, 'utf8');
  const args: Record<string, string> = {};
  const instructions = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const bases: string[] = [];
  let final: string[] = [];
  for (const line of instructions) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const upper = keyword.toUpperCase();
    if (upper === 'ARG' && bases.length === 0) {
      const [name, value = ''] = rest.join(' ').split('=');
      args[name!] = value;
    }
    if (upper === 'FROM') {
      bases.push(interpolate(rest[0]!, args));
      final = [];
    }
    final.push(line);
  }
  const env: Record<string, string> = {};
  let entrypoint: string[] = [];
  let cmd: string[] = [];
  let healthcheck: string[] | undefined;
  let user: string | undefined;
  for (const line of final) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const argument = rest.join(' ');
    switch (keyword.toUpperCase()) {
      case 'ENV':
        for (const match of argument.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) env[match[1]!] = match[2]!.replace(/^"|"$/g, '');
        break;
      case 'ENTRYPOINT':
        entrypoint = JSON.parse(argument) as string[];
        break;
      case 'CMD':
        cmd = JSON.parse(argument) as string[];
        break;
      case 'USER':
        user = argument;
        break;
      case 'HEALTHCHECK': {
        const at = argument.indexOf('CMD ');
        healthcheck = at < 0 ? undefined : (JSON.parse(argument.slice(at + 4)) as string[]);
        break;
      }
    }
  }
  return { env, entrypoint, cmd, healthcheck, bases, user, text };
}

/**
 * The entrypoint's subcommands (`serve) exec node dist/kernel/main.js "$@"`) as the commands that
 * run the same code from the TypeScript sources: `serve` → ['kernel/main.ts'].
 */
export function entrypointCommands(entrypointPath: string, root: string): Record<string, string[]> {
  const commands: Record<string, string[]> = {};
  for (const match of readFileSync(entrypointPath, 'utf8').matchAll(/^\s*([a-z][a-z-]*)\)\s*exec node dist\/(\S+)\.js((?:\s+[^\s"]+)*)\s+"\$@"\s*;;/gm)) {
    const source = `${match[2]}.ts`;
    if (!existsSync(resolve(root, source))) throw new Error(`${entrypointPath}: ${match[1]} runs dist/${match[2]}.js, but ${source} does not exist`);
    commands[match[1]!] = [source, ...words(match[3]!.trim() || []).filter(Boolean)];
  }
  return commands;
}

/** The command a service's containers run: the service's `command`, else the image's CMD. */
export function commandOf(service: ServiceSpec, image: ImageDefinition): string[] {
  return service.command !== undefined ? words(service.command) : image.cmd;
}

export function stackDir(stack: StackFile): string {
  return dirname(stack.path);
}
