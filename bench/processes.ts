/**
 * The benchmark's child processes: the store's services (compiled ahead of time, or through tsx),
 * the bare baseline server and NGINX. Also free loopback ports and peak-RSS sampling.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/harness.js';
import type { Runtime } from './options.js';

export { freePort };

export const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const OUT = join(ROOT, 'bench', 'out');
const BUILD = join(OUT, 'build');

export const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/**
 * Compiles kernel/, modules/, jobs/ (and the bench's baseline server) to bench/out/build/ with esbuild (the transpiler tsx itself
 * uses; one file in, one file out, as `npm run build` does with tsc but in about a second), so the
 * services run as plain `node …/kernel/main.js` the way the image runs dist/: no loader thread in
 * the measured RSS, no compilation during warm-up. Type checking stays `npm run typecheck`'s job.
 */
export async function buildStore(): Promise<string> {
  const { build } = await import('esbuild');
  const entryPoints = ['kernel', 'modules', 'jobs', 'bench/baselines'].flatMap(sources);
  await build({ entryPoints, outdir: BUILD, outbase: '.', absWorkingDir: ROOT, format: 'esm', platform: 'node', target: 'node20', sourcemap: false, logLevel: 'warning' });
  const newest = Math.max(...entryPoints.map((file) => statSync(join(ROOT, file)).mtimeMs));
  return `esbuild → ${relative(ROOT, BUILD)} (${entryPoints.length} files, newest source ${new Date(newest).toISOString()})`;
}

/**
 * The runtime settings of the image (`ENV NODE_OPTIONS=… MALLOC_ARENA_MAX=…` in docker/Dockerfile),
 * so that the services are measured with the memory settings they are deployed with.
 */
export function imageRuntimeEnv(): Record<string, string> {
  const dockerfile = readFileSync(join(ROOT, 'docker', 'Dockerfile'), 'utf8');
  const line = /^ENV NODE_OPTIONS="([^"]*)" MALLOC_ARENA_MAX=(\d+)$/m.exec(dockerfile);
  if (!line) throw new Error('docker/Dockerfile has no line `ENV NODE_OPTIONS="…" MALLOC_ARENA_MAX=…`; the benchmark runs services with it');
  return { NODE_OPTIONS: line[1]!, MALLOC_ARENA_MAX: line[2]! };
}

/** The command that runs a store entry (`kernel/main.ts`, `kernel/cli/migrate.ts`) with the chosen runtime. */
export function storeCommand(runtime: Runtime, entry: string, args: string[] = []): string[] {
  if (runtime === 'tsx') return [process.execPath, '--import', 'tsx', entry, ...args];
  return [process.execPath, join(BUILD, entry.replace(/\.ts$/, '.js')), ...args];
}

export interface ServerProcess {
  name: string;
  url: string;
  port: number;
  child: ChildProcess;
  output(): string;
  running(): boolean;
  stop(): Promise<void>;
}

/** Starts a process and waits until `GET <url><healthPath>` answers 200 (or the process dies). */
export async function startServer(
  name: string,
  command: string[],
  env: Record<string, string>,
  port: number,
  options: { healthPath?: string; timeoutMs?: number } = {},
): Promise<ServerProcess> {
  let output = '';
  const child = spawn(command[0]!, command.slice(1), {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = once(child, 'exit');
  const running = () => child.exitCode === null && child.signalCode === null;
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (!running()) throw new Error(`${name} exited with ${child.exitCode ?? child.signalCode} before it was healthy:\n${output}`);
    const healthy = await fetch(`${url}${options.healthPath ?? '/healthz'}`).then((r) => r.ok, () => false);
    if (healthy) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} was not healthy within ${(options.timeoutMs ?? 60_000) / 1000} s:\n${output}`);
    }
    await sleep(150);
  }
  return {
    name,
    url,
    port,
    child,
    output: () => output,
    running,
    async stop() {
      if (!running()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs a command to completion; rejects with its output when it fails. */
export async function runToEnd(command: string[], env: Record<string, string>, timeoutMs = 120_000): Promise<string> {
  const child = spawn(command[0]!, command.slice(1), { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${command.join(' ')} ended with ${code}:\n${output}`);
  return output;
}

/** Resident set size of a process in kB (VmRSS), 0 once it is gone. */
export function rssKb(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** The direct children of a process (NGINX's workers), from /proc. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Something whose memory is watched: one or more pids summed (NGINX: master and workers). */
export interface Watched {
  name: string;
  pids(): number[];
}

/** Samples the RSS of every watched process every `intervalMs`; `stop()` gives each one's peak in MB. */
export function sampleRss(watched: Watched[], intervalMs = 200): { stop(): Record<string, number> } {
  const peaks = new Map<string, number>(watched.map((w) => [w.name, 0]));
  const sample = () => {
    for (const w of watched) {
      const kb = w.pids().reduce((sum, pid) => sum + rssKb(pid), 0);
      if (kb > peaks.get(w.name)!) peaks.set(w.name, kb);
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return Object.fromEntries([...peaks].map(([name, kb]) => [name, Math.round(kb / 102.4) / 10]));
    },
  };
}
