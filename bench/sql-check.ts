/**
 * Is the database ceiling still running the store's SQL? A catalog process started for a moment with
 * LOG_LEVEL=trace (MikroORM then logs every query) answers the catalog scenarios' requests once; the
 * statements it ran, with literals replaced by `?`, are compared with the ceiling's
 * (bench/baselines/catalog-sql.ts). A difference is reported in the run's notes: the ratios to the
 * database ceiling then compare different queries, and catalog-sql.ts should follow the store.
 */
import { format } from 'mysql2';
import { detailQuery, listQueries, type Query } from './baselines/catalog-sql.js';
import type { Dataset } from './dataset.js';
import { freePort, sleep, startServer, storeCommand } from './processes.js';
import { deepPage, detailId, SEARCH_TWO_WORDS, SEARCH_WORD } from './scenarios.js';
import { sharedEnv, type StoreEnv, type StoreTopology } from './topology.js';

/** Literals → `?`, `in (?, ?, …)` → `in (?)`, whitespace collapsed. */
export function normaliseSql(sql: string): string {
  return sql
    .replace(/'(?:[^'\\]|\\.)*'/g, '?')
    .replace(/\b\d+(?:\.\d+)?\b/g, '?')
    .replace(/\bin \(\?(?:, \?)*\)/gi, 'in (?)')
    .replace(/\s+/g, ' ')
    .trim();
}

const formatted = (query: Query) => normaliseSql(format(query.sql, query.params as never[]));

/** The statements the ceiling runs for the scenarios' requests. */
function ceilingStatements(dataset: Dataset): { paths: string[]; statements: Set<string> } {
  const lists: [string, string, number][] = [
    ['/api/catalog/books', '', 1],
    [`/api/catalog/books?page=${deepPage(dataset)}`, '', deepPage(dataset)],
    [`/api/catalog/books?q=${encodeURIComponent(SEARCH_WORD)}`, SEARCH_WORD, 1],
    [`/api/catalog/books?q=${encodeURIComponent(SEARCH_TWO_WORDS)}`, SEARCH_TWO_WORDS, 1],
  ];
  const statements = new Set<string>();
  for (const [, q, page] of lists) {
    const queries = listQueries(q, page, 20);
    for (const query of [queries.page, queries.count]) statements.add(formatted(query));
  }
  statements.add(formatted(detailQuery(detailId(dataset))));
  return { paths: [...lists.map(([path]) => path), `/api/catalog/books/${detailId(dataset)}`], statements };
}

/** The statements in a trace-level log (MikroORM's `[query] …` lines), normalised. */
function loggedStatements(log: string): Set<string> {
  const statements = new Set<string>();
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    let orm: unknown;
    try {
      orm = (JSON.parse(line) as { orm?: unknown }).orm;
    } catch {
      continue;
    }
    if (typeof orm !== 'string') continue;
    // Strip the ANSI colour codes (ESC [ … m) that MikroORM's query logger adds.
    const plain = orm.replace(/\u001b\[[0-9;]*m/g, '');
    const match = /^\[query\] (.*?)(?: \[took [^\]]*\])?$/s.exec(plain);
    if (match) statements.add(normaliseSql(match[1]!));
  }
  return statements;
}

export interface SqlCheck {
  same: boolean;
  onlyInStore: string[];
  onlyInCeiling: string[];
}

export async function checkCeilingSql(env: StoreEnv, store: StoreTopology): Promise<SqlCheck> {
  const { paths, statements: expected } = ceilingStatements(env.dataset);
  const port = await freePort();
  const tracer = await startServer('catalog-trace', storeCommand(env.options.runtime, 'kernel/main.ts'), {
    ...sharedEnv(env),
    BOOKSTORE_MODULES: 'catalog',
    AUTH_URL: store.direct('auth'),
    LOG_LEVEL: 'trace',
  }, port);
  try {
    const before = tracer.output().length;
    for (const path of paths) {
      const response = await fetch(`${tracer.url}${path}`);
      await response.arrayBuffer();
    }
    await sleep(300);
    const seen = loggedStatements(tracer.output().slice(before));
    const onlyInStore = [...seen].filter((s) => !expected.has(s));
    const onlyInCeiling = [...expected].filter((s) => !seen.has(s));
    return { same: onlyInStore.length === 0 && onlyInCeiling.length === 0, onlyInStore, onlyInCeiling };
  } finally {
    await tracer.stop();
  }
}
