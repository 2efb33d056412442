/**
 * Prints the Markdown of a saved report again, with the figures derived afresh (after a change to
 * bench/report.ts, or to paste into bench/RESULTS.md):
 *
 *   npx tsx bench/render.ts bench/out/<timestamp>.json
 */
import { readFileSync } from 'node:fs';
import { derive, markdown, type Report } from './report.js';

const file = process.argv[2];
if (!file) {
  console.error('usage: tsx bench/render.ts bench/out/<timestamp>.json');
  process.exit(2);
}
const saved = JSON.parse(readFileSync(file, 'utf8')) as Report;
console.log(markdown({ ...saved, ...derive(saved) }));
