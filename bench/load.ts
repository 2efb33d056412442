/**
 * Load generation with autocannon, in this process, against the servers in child processes.
 *
 * A measurement runs one or more parts at once (a login storm and catalog reads; a mixed workload
 * split by origin). Latencies are taken from autocannon's `response` events (high-resolution
 * timer, every request) rather than its histogram, which rounds to whole milliseconds: the auth
 * overhead target is 0.3 ms.
 */
import http from 'node:http';
import https from 'node:https';
import autocannon, { type Request } from 'autocannon';
import { sampleRss, type Watched } from './processes.js';
import type { Target } from './topology.js';

export interface LoadPart {
  label: string;
  target: Target;
  connections: number;
  /** The request sequence connection number `index` loops over. */
  sequence(index: number): Request[];
  /** Stop after this many requests instead of after the duration. */
  amount?: number;
}

export interface PartStats {
  label: string;
  connections: number;
  requests: number;
  rps: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx answers plus connection errors and timeouts. */
  errors: number;
  statuses: Record<string, number>;
}

export interface Measurement {
  parts: PartStats[];
  seconds: number;
  /** Peak RSS in MB of every watched process during the measurement. */
  peakRssMb: Record<string, number>;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Runs one part for `seconds` (or until it has sent its `amount`). */
export async function runPart(part: LoadPart, seconds: number): Promise<PartStats> {
  const paths = part.sequence(0).map((request) => request.path ?? '/');
  const origins = new Set(paths.map((path) => part.target.origin(path)));
  if (origins.size !== 1) throw new Error(`${part.label}: one part must go to one origin (got ${[...origins].join(', ')})`);
  const [origin] = origins;
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  const statuses: Record<string, number> = {};
  let nextConnection = 0;
  const instance = autocannon({
    url: origin!,
    connections: part.connections,
    ...(part.amount ? { amount: part.amount } : { duration: seconds }),
    timeout: 30,
    servername: part.target.servername,
    setupClient: (client) => client.setRequests(part.sequence(nextConnection++)),
  });
  instance.on('response', (_client, statusCode, _bytes, ms) => {
    if (count === latencies.length) {
      const bigger = new Float64Array(latencies.length * 2);
      bigger.set(latencies);
      latencies = bigger;
    }
    latencies[count++] = ms;
    statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
  });
  const result = await instance;
  const sorted = latencies.slice(0, count).sort();
  const mean = count ? sorted.reduce((sum, ms) => sum + ms, 0) / count : 0;
  const non2xx = Object.entries(statuses).reduce((sum, [status, n]) => sum + (status.startsWith('2') ? 0 : n), 0);
  return {
    label: part.label,
    connections: part.connections,
    requests: count,
    rps: round(count / Math.max(result.duration, 0.001), 1),
    meanMs: round(mean),
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    errors: non2xx + result.errors,
    statuses,
  };
}

/** Runs every part at once for `seconds` (or until each has sent its `amount`), sampling RSS meanwhile. */
export async function measure(parts: LoadPart[], seconds: number, watched: Watched[]): Promise<Measurement> {
  const started = Date.now();
  const rss = sampleRss(watched);
  const stats = await Promise.all(parts.map((part) => runPart(part, seconds))).catch((error: unknown) => {
    rss.stop();
    throw error;
  });
  return { parts: stats, seconds: (Date.now() - started) / 1000, peakRssMb: rss.stop() };
}

export interface Reply {
  status: number;
  text: string;
}

/** One request (setup and checks, not load): plain HTTP, or HTTPS to NGINX's local certificate. */
export function call(target: Target, request: Request): Promise<Reply> {
  const path = request.path ?? '/';
  const url = new URL(path, target.origin(path));
  const client = url.protocol === 'https:' ? https : http;
  const body = request.body;
  const headers = { ...request.headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) };
  return new Promise((resolve, reject) => {
    const req = client.request(url, { method: request.method ?? 'GET', headers, servername: target.servername, rejectUnauthorized: false, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`${request.method ?? 'GET'} ${path}: timed out`)));
    req.end(body);
  });
}
