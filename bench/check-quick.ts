/**
 * What CI may run: the quick benchmark, then checks that it ran and produced sane output. Never a
 * speed: the machines are shared, so no figure is compared with a threshold here.
 *
 *   tsx bench/check-quick.ts [-- any bench/run.ts option, e.g. --topology split]
 *
 * Checks: bench/run.ts exited 0; it wrote a new bench/out/<timestamp>.json and .md; every scenario
 * and every part of it answered requests (> 0) in every run; the order pipeline delivered orders;
 * the Markdown has the table. Exit code 0 when all hold, 1 otherwise (each failure printed).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { OUT, ROOT } from './processes.js';
import type { Report } from './report.js';

const started = Date.now();
const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', ...process.argv.slice(2)], { cwd: ROOT, stdio: 'inherit' });
const [code] = (await once(child, 'exit')) as [number | null];
const seconds = (Date.now() - started) / 1000;

const failures: string[] = [];
if (code !== 0) failures.push(`bench/run.ts --quick exited with ${code}`);

const written = existsSync(OUT)
  ? readdirSync(OUT)
      .filter((name) => name.endsWith('.json') && statSync(join(OUT, name)).mtimeMs >= started)
      .sort()
  : [];
const latest = written.at(-1);
if (!latest) {
  failures.push('no new bench/out/*.json was written');
} else {
  const report = JSON.parse(readFileSync(join(OUT, latest), 'utf8')) as Report;
  if (report.scenarios.length === 0) failures.push('the report has no scenarios');
  for (const scenario of report.scenarios) {
    if (scenario.runs.length === 0) failures.push(`${scenario.name}: no runs`);
    for (const [index, run] of scenario.runs.entries()) {
      for (const part of run.parts) {
        if (!(part.requests > 0)) failures.push(`${scenario.name} run ${index + 1} (${part.label}): no requests answered`);
        if (!(part.rps > 0) || !Number.isFinite(part.p99Ms)) failures.push(`${scenario.name} run ${index + 1} (${part.label}): no throughput or latency`);
      }
    }
  }
  if (report.pipeline.length === 0) failures.push('the order pipeline did not run');
  for (const p of report.pipeline) if (!(p.median.delivered > 0)) failures.push(`order pipeline with ${p.paymentWorkers} payment worker(s): no order delivered`);
  if (!(report.environment.nproc > 0)) failures.push('the report does not give the core count');
  const md = join(OUT, latest.replace(/\.json$/, '.md'));
  if (!existsSync(md) || !readFileSync(md, 'utf8').includes('| scenario |')) failures.push(`${md} is missing or has no table`);
}

console.log(`\ncheck-quick: the quick benchmark took ${seconds.toFixed(0)} s${latest ? `, report bench/out/${latest}` : ''}`);
for (const failure of failures) console.log(`check-quick: FAIL ${failure}`);
console.log(failures.length ? `check-quick: ${failures.length} problem(s)` : 'check-quick: OK (ran, every scenario answered requests, output written)');
process.exit(failures.length ? 1 : 0);
