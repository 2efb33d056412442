/**
 * What the accessibility test measures on a page: axe-core's WCAG 2.1 A/AA checks, the bytes of a
 * cold load, and keyboard focus; and a console table of the figures. Not a test file.
 */
import { AxeBuilder } from '@axe-core/playwright';
import type { Page, Request } from 'playwright-core';
import { expect } from 'vitest';

export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const IMPACTS = ['critical', 'serious', 'moderate', 'minor'] as const;
export type Impact = (typeof IMPACTS)[number];
export type ImpactCounts = Record<Impact, number>;

/** axe's violations on the page, counted by impact, and one line per violation for a message. */
export async function runAxe(page: Page): Promise<{ counts: ImpactCounts; lines: string[] }> {
  const results = await new AxeBuilder({ page }).withTags(WCAG_TAGS).analyze();
  const counts: ImpactCounts = { critical: 0, serious: 0, moderate: 0, minor: 0 };
  const lines: string[] = [];
  for (const violation of results.violations) {
    const impact = violation.impact ?? 'minor';
    counts[impact] += 1;
    const targets = violation.nodes.slice(0, 5).map((node) => node.target.join(' ')).join(', ') + (violation.nodes.length > 5 ? `, and ${violation.nodes.length - 5} more` : '');
    lines.push(`[${impact}] ${violation.id}: ${violation.help} (${targets})`);
  }
  return { counts, lines };
}

/** No serious or critical violation on the page; answers the counts by impact for the report. */
export async function checkAccessibility(page: Page): Promise<ImpactCounts> {
  const { counts, lines } = await runAxe(page);
  const blocking = lines.filter((line) => line.startsWith('[critical]') || line.startsWith('[serious]'));
  expect(blocking, `axe on ${page.url()}:\n${lines.join('\n')}`).toEqual([]);
  return counts;
}

/**
 * Loads `path` with the browser cache off and answers the bytes that came over the wire (headers and
 * encoded bodies) for every request finished by the load event and a short quiet time after it.
 * A request still open then (a live update stream) is not counted.
 */
export async function coldLoad(page: Page, path: string): Promise<{ bytes: number; requests: number }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const sizes: Promise<number>[] = [];
  const finished = (request: Request) => sizes.push(request.sizes().then((s) => s.responseHeadersSize + s.responseBodySize));
  page.on('requestfinished', finished);
  try {
    await page.goto(path, { waitUntil: 'load' });
    await page.waitForTimeout(300);
  } finally {
    page.off('requestfinished', finished);
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: false });
    await cdp.detach();
  }
  const all = await Promise.all(sizes);
  return { bytes: all.reduce((sum, size) => sum + size, 0), requests: all.length };
}

/**
 * Tabs once from the top of the page: the element focused is a link, and it shows a focus indicator
 * (a non-zero outline, or else a box shadow). Answers the link's text and the indicator.
 */
export interface Focused {
  tag: string;
  text: string;
  outline: string;
  boxShadow: string;
}

export async function firstTabStop(page: Page): Promise<Focused> {
  await page.keyboard.press('Tab');
  return page.evaluate<Focused>(`(() => {
    const element = document.activeElement;
    const style = getComputedStyle(element);
    return { tag: element.tagName.toLowerCase(), text: element.textContent.trim(), outline: style.outlineStyle + ' ' + style.outlineWidth + ' ' + style.outlineColor, boxShadow: style.boxShadow };
  })()`);
}

export const hasVisibleOutline = (outline: string) => !/^none\b/.test(outline) && !/\b0px\b/.test(outline);

/** Prints rows as an aligned table under a title (the figures in the closing note come from here). */
export function printTable(title: string, rows: Record<string, string | number>[]) {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const width = (column: string) => Math.max(column.length, ...rows.map((row) => String(row[column]).length));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(width(columns[i]!))).join('  ');
  console.log([`\n${title}`, line(columns), line(columns.map((c) => '-'.repeat(width(c)))), ...rows.map((row) => line(columns.map((c) => String(row[c]))))].join('\n'));
}

export const kilobytes = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
