/**
 * The benchmark's output: medians, ratios to the ceilings, the derived figures the issue's
 * targets are stated in, and the environment (cores, versions). Written as JSON and Markdown to
 * bench/out/<timestamp>.{json,md}.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { Redis } from 'ioredis';
import type { Measurement, PartStats } from './load.js';
import { nginxVersion } from './nginx.js';
import type { Options } from './options.js';
import type { PipelineRun } from './pipeline.js';
import { OUT, ROOT } from './processes.js';
import type { Kind } from './scenarios.js';

export interface ScenarioResult {
  name: string;
  title: string;
  kind: Kind;
  ceiling?: string;
  runs: Measurement[];
  /** The run with the median requests/s (of its first part). */
  median: Measurement;
  /** Highest RSS of each process over all runs. */
  peakRssMb: Record<string, number>;
  /** Seconds spent afterwards until every order placed was delivered. */
  settleSeconds?: number;
}

export interface PipelineResult {
  paymentWorkers: number;
  description: string;
  runs: PipelineRun[];
  median: PipelineRun;
}

export interface Target {
  target: string;
  measured: string;
  met: boolean | null;
}

export interface Environment {
  date: string;
  command: string;
  nproc: number;
  cpu: string;
  memoryGb: number;
  versions: Record<string, string>;
}

export interface Report {
  environment: Environment;
  profile: Options['profile'];
  topology: string;
  runtime: string;
  dataset: { database: string; books: number; users: number; created: boolean; seconds: number; newerMigrations: string[] };
  notes: string[];
  scenarios: ScenarioResult[];
  pipeline: PipelineResult[];
  derived: Record<string, number | null>;
  targets: Target[];
  seconds: number;
}

export function medianBy<T>(items: T[], key: (item: T) => number): T {
  const sorted = [...items].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

export function maxRss(runs: { peakRssMb: Record<string, number> }[]): Record<string, number> {
  const peaks: Record<string, number> = {};
  for (const run of runs) for (const [name, mb] of Object.entries(run.peakRssMb)) peaks[name] = Math.max(peaks[name] ?? 0, mb);
  return peaks;
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

export async function environment(options: Options, command: string): Promise<Environment> {
  const nproc = spawnSync('nproc', { encoding: 'utf8' });
  const mysql = await createConnection({ uri: options.mysqlServer });
  const [[row]] = (await mysql.query<RowDataPacket[]>('select version() as v')) as unknown as [RowDataPacket[]];
  await mysql.end();
  const redis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const info = await redis.info('server');
  redis.disconnect();
  return {
    date: new Date().toISOString(),
    command,
    nproc: Number(nproc.stdout.trim()) || cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    versions: {
      node: process.version,
      mariadb: String(row!.v),
      redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
      nginx: nginxVersion(),
      hono: packageVersion('hono'),
      '@hono/node-server': packageVersion('@hono/node-server'),
      '@mikro-orm/core': packageVersion('@mikro-orm/core'),
      bullmq: packageVersion('bullmq'),
      autocannon: packageVersion('autocannon'),
      mysql2: packageVersion('mysql2'),
    },
  };
}

const find = (report: Pick<Report, 'scenarios'>, name: string) => report.scenarios.find((s) => s.name === name);
const first = (s: ScenarioResult | undefined) => s?.median.parts[0];
const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? Math.round((a / b) * 1000) / 1000 : null);
/**
 * A figure comparing two scenarios of one block, run by run (run k of one next to run k of the
 * other, so both saw the same noise), then the median of those figures.
 */
export function paired(a: ScenarioResult | undefined, b: ScenarioResult | undefined, figure: (x: PartStats, y: PartStats) => number, label?: string): number | null {
  if (!a || !b) return null;
  const values: number[] = [];
  for (let k = 0; k < Math.min(a.runs.length, b.runs.length); k++) {
    const x = label ? a.runs[k]!.parts.find((p) => p.label === label) : a.runs[k]!.parts[0];
    const y = label ? b.runs[k]!.parts.find((p) => p.label === label) : b.runs[k]!.parts[0];
    if (x && y) values.push(figure(x, y));
  }
  return values.length ? Math.round(medianBy(values, (v) => v) * 1000) / 1000 : null;
}

const fixed = (n: number | null | undefined, digits = 2) => (n === null || n === undefined ? '–' : n.toFixed(digits));
const percent = (r: number | null) => (r === null ? '–' : `${Math.round(r * 100)}%`);

/** The figures the issue's targets are stated in, from the scenarios that ran. */
export function derive(report: Pick<Report, 'scenarios' | 'pipeline'>): { derived: Report['derived']; targets: Target[] } {
  const ceilingRatio = (name: string) => paired(find(report, name), find(report, `db:${name}`), (x, y) => x.rps / y.rps);
  const overhead = (name: string) => paired(find(report, name), find(report, 'detail-anonymous-c1'), (x, y) => x.p50Ms - y.p50Ms);
  const stormOff = find(report, 'storm-off')?.median.parts.find((p) => p.label === 'catalog')?.p99Ms;
  const stormOn = find(report, 'storm-on')?.median.parts.find((p) => p.label === 'catalog')?.p99Ms;
  const twoWorkers = report.pipeline.find((p) => p.paymentWorkers === 2)?.median;
  const mixed = find(report, 'mixed');
  const mixedRss = mixed ? Object.entries(mixed.peakRssMb).filter(([name]) => !name.startsWith('nginx')) : [];
  const d = {
    listVsDbCeiling: ceilingRatio('list-page-1'),
    deepPageVsDbCeiling: ceilingRatio('list-deep-page'),
    searchWordVsDbCeiling: ceilingRatio('search-word'),
    searchTwoWordsVsDbCeiling: ceilingRatio('search-two-words'),
    detailVsDbCeiling: ceilingRatio('book-detail'),
    searchWordP99Ms: first(find(report, 'search-word'))?.p99Ms ?? null,
    searchTwoWordsP99Ms: first(find(report, 'search-two-words'))?.p99Ms ?? null,
    authOverheadBearerMs: overhead('detail-bearer-c1'),
    authOverheadMeMs: overhead('me-c1'),
    catalogP99WithoutStormMs: stormOff ?? null,
    catalogP99DuringStormMs: stormOn ?? null,
    stormP99Ratio: paired(find(report, 'storm-on'), find(report, 'storm-off'), (x, y) => x.p99Ms / y.p99Ms, 'catalog'),
    pipelineOrdersPerSecond1Worker: report.pipeline.find((p) => p.paymentWorkers === 1)?.median.ordersPerSecond ?? null,
    pipelineOrdersPerSecond2Workers: twoWorkers?.ordersPerSecond ?? null,
    mixedMaxServiceRssMb: mixedRss.length ? Math.max(...mixedRss.map(([, mb]) => mb)) : null,
  };
  const atLeast = (value: number | null, min: number) => (value === null ? null : value >= min);
  const atMost = (value: number | null, max: number) => (value === null ? null : value <= max);
  const both = (a: boolean | null, b: boolean | null) => (a === null ? b : b === null ? a : a && b);
  const twoWorkersClean = twoWorkers ? twoWorkers.posted.errors === 0 && twoWorkers.unsettled === 0 && (twoWorkers.statuses.payment_failed ?? 0) === 0 : null;
  const targets: Target[] = [
    { target: 'catalog list ≥ 70% of the database ceiling (req/s)', measured: percent(d.listVsDbCeiling), met: atLeast(d.listVsDbCeiling, 0.7) },
    {
      target: 'search ≥ 70% of the database ceiling (req/s)',
      measured: `${percent(d.searchWordVsDbCeiling)} (one word), ${percent(d.searchTwoWordsVsDbCeiling)} (two words)`,
      met: both(atLeast(d.searchWordVsDbCeiling, 0.7), atLeast(d.searchTwoWordsVsDbCeiling, 0.7)),
    },
    {
      target: 'search p99 < 20 ms at 32 connections',
      measured: `${fixed(d.searchWordP99Ms)} ms (one word), ${fixed(d.searchTwoWordsP99Ms)} ms (two words)`,
      met: both(d.searchWordP99Ms === null ? null : d.searchWordP99Ms < 20, d.searchTwoWordsP99Ms === null ? null : d.searchTwoWordsP99Ms < 20),
    },
    {
      target: 'authentication adds ≤ 0.3 ms median',
      measured: `${fixed(d.authOverheadBearerMs, 3)} ms (p50 of book detail with Bearer − anonymous, run by run); /me − anonymous detail ${fixed(d.authOverheadMeMs, 3)} ms`,
      met: atMost(d.authOverheadBearerMs, 0.3),
    },
    {
      target: 'catalog p99 during a login storm ≤ 2× without',
      measured: `${fixed(d.stormP99Ratio)}× (run by run; median runs: ${fixed(d.catalogP99DuringStormMs)} ms during, ${fixed(d.catalogP99WithoutStormMs)} ms without)`,
      met: atMost(d.stormP99Ratio, 2),
    },
    {
      target: 'order pipeline ≥ 300 orders/s end to end with 2 payment workers, no errors',
      measured: `${fixed(d.pipelineOrdersPerSecond2Workers, 1)} orders/s${twoWorkers ? ` (errors ${twoWorkers.posted.errors}, unsettled ${twoWorkers.unsettled}, payment_failed ${twoWorkers.statuses.payment_failed ?? 0})` : ''}; 1 worker ${fixed(d.pipelineOrdersPerSecond1Worker, 1)}`,
      met: d.pipelineOrdersPerSecond2Workers === null ? null : d.pipelineOrdersPerSecond2Workers >= 300 && twoWorkersClean === true,
    },
    {
      target: 'every service < 150 MB RSS under the mixed workload',
      measured: mixedRss.length ? mixedRss.map(([name, mb]) => `${name} ${mb.toFixed(0)}`).join(', ') + ' MB' : '–',
      met: d.mixedMaxServiceRssMb === null ? null : d.mixedMaxServiceRssMb < 150,
    },
  ];
  return { derived: d, targets };
}

const rssText = (peaks: Record<string, number>) =>
  Object.entries(peaks)
    .map(([name, mb]) => `${name} ${mb.toFixed(0)}`)
    .join(', ');

export function markdown(report: Report): string {
  const env = report.environment;
  const v = env.versions;
  const framework = first(find(report, 'framework-ceiling'))?.rps;
  const lines = [
    `# BookStore benchmark, ${env.date.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `- command: \`${env.command}\``,
    `- machine: \`nproc\` = ${env.nproc} (${env.cpu}, ${env.memoryGb} GB), shared with other work: compare ratios, not absolute figures`,
    `- versions: Node ${v.node}, MariaDB ${v.mariadb}, Redis ${v.redis}, nginx ${v.nginx}; hono ${v.hono}, @hono/node-server ${v['@hono/node-server']}, @mikro-orm/core ${v['@mikro-orm/core']}, bullmq ${v.bullmq}, autocannon ${v.autocannon}, mysql2 ${v.mysql2}`,
    `- topology: ${report.topology}; services run as ${report.runtime}`,
    `- dataset: \`${report.dataset.database}\`, ${report.dataset.books.toLocaleString('en')} books, ${report.dataset.users.toLocaleString('en')} users (${report.dataset.created ? 'created in this run' : 'reused'}, ${report.dataset.seconds.toFixed(1)} s)`,
    `- method: ${report.profile.runs} run(s) × ${report.profile.seconds} s per scenario after a ${report.profile.warmupSeconds} s warm-up, runs alternating with the scenario's ceiling; the median run (by req/s) is shown; ratios to the database ceiling, the auth overhead and the storm ratio are medians of run-by-run figures (run k against the counterpart's run k); latencies of every request, from a high-resolution timer; RSS: peak over all runs, sampled every 200 ms; errors: non-2xx answers plus socket errors and timeouts`,
    ...report.notes.map((note) => `- note: ${note}`),
    '',
    '| scenario | conns | req/s | p50 ms | p99 ms | errors | vs db ceiling | vs framework ceiling | peak RSS MB |',
    '|---|--:|--:|--:|--:|--:|--:|--:|---|',
  ];
  for (const scenario of report.scenarios) {
    const ceilingRatio = scenario.ceiling ? paired(scenario, find(report, scenario.ceiling), (x, y) => x.rps / y.rps) : null;
    scenario.median.parts.forEach((part, index) => {
      const label = scenario.median.parts.length > 1 ? `${scenario.title} — ${part.label}` : scenario.title;
      const dbRatio = index === 0 && scenario.ceiling ? percent(ceilingRatio) : '';
      const fwRatio = scenario.kind === 'framework-ceiling' ? '100%' : percent(ratio(part.rps, framework));
      const settle = index === 0 && scenario.settleSeconds !== undefined ? ` (orders settled ${scenario.settleSeconds.toFixed(1)} s later)` : '';
      lines.push(`| ${label}${settle} | ${part.connections} | ${part.rps.toFixed(0)} | ${part.p50Ms.toFixed(2)} | ${part.p99Ms.toFixed(2)} | ${part.errors} | ${dbRatio || '–'} | ${fwRatio} | ${index === 0 ? rssText(scenario.peakRssMb) : ''} |`);
    });
  }
  if (report.pipeline.length) {
    lines.push(
      '',
      `Order pipeline (POST at 16 connections, every delay 0, statuses read from the database; orders per run: ~${report.profile.pipelineSeconds} s of POSTs at the warm-up's rate, ${report.profile.pipelineOrders.min}–${report.profile.pipelineOrders.max}):`,
      '',
      '| payment workers | orders | delivered | seconds | orders/s end to end | POST req/s | POST p99 ms | errors | unsettled | peak RSS MB |',
      '|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|',
    );
    for (const p of report.pipeline) {
      const m = p.median;
      lines.push(`| ${p.paymentWorkers} | ${m.posted.requests} | ${m.delivered} | ${m.seconds.toFixed(1)} | ${m.ordersPerSecond.toFixed(0)} | ${m.posted.rps.toFixed(0)} | ${m.posted.p99Ms.toFixed(1)} | ${m.posted.errors + (m.statuses.payment_failed ?? 0)} | ${m.unsettled} | ${rssText(maxRss(p.runs))} |`);
    }
  }
  lines.push('', `Targets of issue 5 (stated for one process on this 2-core machine${report.topology.startsWith('one') ? '' : '; this run is split, so indicative only'}):`, '', '| target | measured | met |', '|---|---|:-:|');
  for (const t of report.targets) lines.push(`| ${t.target} | ${t.measured} | ${t.met === null ? 'not measured' : t.met ? 'yes' : '**no**'} |`);
  lines.push('', `Total time: ${report.seconds.toFixed(0)} s.`, '');
  return lines.join('\n');
}

/** Writes bench/out/<timestamp>.json and .md; returns their paths. */
export function writeReport(report: Report): { json: string; md: string } {
  mkdirSync(OUT, { recursive: true });
  const stamp = report.environment.date.replace(/[:.]/g, '-');
  const json = join(OUT, `${stamp}.json`);
  const md = join(OUT, `${stamp}.md`);
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(md, markdown(report));
  return { json, md };
}
