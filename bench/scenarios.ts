/**
 * What is measured. Scenarios come in blocks; within a block the runs alternate (run 1 of every
 * scenario, then run 2 of every scenario, …) so a scenario and its ceiling see the same noise.
 *
 * Catalog scenarios have a twin on the bare server (bench/baselines/bare-hono.ts) running the same
 * SQL with mysql2: the database ceiling. The framework ceiling is the bare server answering the
 * store's page-1 JSON from memory. Every scenario is reported against both where they apply.
 */
import type { Request } from 'autocannon';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { BENCH_PASSWORD, benchUserEmail, type Dataset } from './dataset.js';
import type { LoadPart } from './load.js';
import type { Options } from './options.js';
import { sleep } from './processes.js';
import { moduleOf, type CeilingServer, type StoreTopology, type Target } from './topology.js';

export interface Context {
  options: Options;
  dataset: Dataset;
  store: StoreTopology;
  ceiling: CeilingServer;
  /** Session tokens of bench users, one per connection at most. */
  tokens: string[];
}

export type Kind = 'framework-ceiling' | 'database-ceiling' | 'store';

export interface Scenario {
  name: string;
  title: string;
  block: string;
  kind: Kind;
  /** Part of `--quick`. */
  quick: boolean;
  /** The database-ceiling scenario this one is compared with. */
  ceiling?: string;
  /** Orders were placed: wait until every one is delivered (or failed) before going on. */
  placesOrders?: boolean;
  parts(ctx: Context): LoadPart[];
}

/** The queries of the catalog scenarios. */
export const SEARCH_WORD = 'illustrated';
export const SEARCH_TWO_WORDS = 'gabriel marq';
const MIX_WORDS = ['love', 'war', 'history', 'night', 'garcia', SEARCH_WORD, SEARCH_TWO_WORDS, 'the'];

export const deepPage = (dataset: Dataset) => Math.max(2, Math.floor((dataset.books / 20) * 0.4));
/** A spread of existing book ids (the demo and generated books, not the bench ones). */
const bookIds = (dataset: Dataset, offset: number, count: number) =>
  Array.from({ length: count }, (_, i) => 1 + ((offset * 7919 + i * 104_729) % Math.max(1, dataset.books - 100)));
export const detailId = (dataset: Dataset) => Math.floor(dataset.books / 2);

const json = { 'content-type': 'application/json' };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const get = (path: string, headers?: Record<string, string>): Request => ({ method: 'GET', path, ...(headers ? { headers } : {}) });
const tokenFor = (ctx: Context, index: number) => ctx.tokens[index % ctx.tokens.length]!;

export function orderBody(bookId: number): string {
  return JSON.stringify({
    items: [{ bookId, quantity: 1 }],
    deliveryProviderId: 'envia',
    shippingAddress: { name: 'Bench Buyer', line1: '1 Load Street', city: 'Loopback', country: 'CO' },
    payment: { method: 'card', cardNumber: '4242424242424242', expMonth: 12, expYear: 2040, cvc: '123' },
  });
}

const placeOrder = (ctx: Context, index: number): Request => ({
  method: 'POST',
  path: '/api/purchase/orders',
  headers: { ...json, ...bearer(tokenFor(ctx, index)) },
  body: orderBody(ctx.dataset.benchBookIds[index % ctx.dataset.benchBookIds.length]!),
});

/** Correct-password logins, each connection walking the bench users from its own offset. */
const logins = (ctx: Context, index: number): Request[] =>
  Array.from({ length: Math.min(ctx.dataset.users, 200) }, (_, i) => ({
    method: 'POST',
    path: '/api/auth/login',
    headers: json,
    body: JSON.stringify({ email: benchUserEmail(1 + ((index * 37 + i) % ctx.dataset.users)), password: BENCH_PASSWORD }),
  }));

/** Logins go straight to the auth service in `split` (NGINX would answer 429 past 30/min per address). */
const loginTarget = (ctx: Context): Target => ({ origin: () => ctx.store.direct('auth') });

const part = (label: string, target: Target, connections: number, sequence: (index: number) => Request[]): LoadPart => ({ label, target, connections, sequence });

/** A catalog read measured on the store and, with the same requests, on the database ceiling. */
function catalogPair(block: string, name: string, title: string, quick: boolean, connections: number, paths: (ctx: Context, index: number) => string[]): Scenario[] {
  const sql = (path: string) => path.replace('/api/catalog/books', '/api/catalog/sql/books');
  return [
    {
      name: `db:${name}`,
      title: `database ceiling: ${title}`,
      block,
      kind: 'database-ceiling',
      quick,
      parts: (ctx) => [part('reads', ctx.ceiling, connections, (i) => paths(ctx, i).map((path) => get(sql(path))))],
    },
    {
      name,
      title,
      block,
      kind: 'store',
      quick,
      ceiling: `db:${name}`,
      parts: (ctx) => [part('reads', ctx.store, connections, (i) => paths(ctx, i).map((path) => get(path)))],
    },
  ];
}

const C = 32;

export const SCENARIOS: Scenario[] = [
  {
    name: 'framework-ceiling',
    title: 'framework ceiling: page 1 JSON from memory',
    block: 'list',
    kind: 'framework-ceiling',
    quick: true,
    parts: (ctx) => [part('reads', ctx.ceiling, C, () => [get('/api/catalog/books')])],
  },
  ...catalogPair('list', 'list-page-1', 'catalog list, page 1', true, C, () => ['/api/catalog/books']),
  ...catalogPair('deep', 'list-deep-page', 'catalog list, deep page', false, C, (ctx) => [`/api/catalog/books?page=${deepPage(ctx.dataset)}`]),
  ...catalogPair('search', 'search-word', `search q=${SEARCH_WORD}`, true, C, () => [`/api/catalog/books?q=${encodeURIComponent(SEARCH_WORD)}`]),
  ...catalogPair('search2', 'search-two-words', `search q=${SEARCH_TWO_WORDS}`, false, C, () => [`/api/catalog/books?q=${encodeURIComponent(SEARCH_TWO_WORDS)}`]),
  ...catalogPair('detail', 'book-detail', 'book detail (50 ids per connection)', false, C, (ctx, i) => bookIds(ctx.dataset, i, 50).map((id) => `/api/catalog/books/${id}`)),
  {
    name: 'detail-anonymous-c1',
    title: 'book detail, anonymous, 1 connection',
    block: 'auth',
    kind: 'store',
    quick: true,
    parts: (ctx) => [part('reads', ctx.store, 1, () => [get(`/api/catalog/books/${detailId(ctx.dataset)}`)])],
  },
  {
    name: 'detail-bearer-c1',
    title: 'book detail, Bearer token, 1 connection',
    block: 'auth',
    kind: 'store',
    quick: true,
    parts: (ctx) => [part('reads', ctx.store, 1, (i) => [get(`/api/catalog/books/${detailId(ctx.dataset)}`, bearer(tokenFor(ctx, i)))])],
  },
  {
    name: 'me-c1',
    title: 'GET /api/auth/me, 1 connection',
    block: 'auth',
    kind: 'store',
    quick: true,
    parts: (ctx) => [part('reads', ctx.store, 1, (i) => [get('/api/auth/me', bearer(tokenFor(ctx, i)))])],
  },
  {
    name: 'me',
    title: 'GET /api/auth/me',
    block: 'me',
    kind: 'store',
    quick: false,
    parts: (ctx) => [part('reads', ctx.store, C, (i) => [get('/api/auth/me', bearer(tokenFor(ctx, i)))])],
  },
  {
    name: 'login',
    title: 'POST /api/auth/login (Argon2id), rotating users',
    block: 'login',
    kind: 'store',
    quick: true,
    parts: (ctx) => [part('logins', loginTarget(ctx), 8, (i) => logins(ctx, i))],
  },
  {
    name: 'storm-off',
    title: 'catalog page 1 at 16 connections, no login storm',
    block: 'storm',
    kind: 'store',
    quick: false,
    parts: (ctx) => [part('catalog', ctx.store, 16, () => [get('/api/catalog/books')])],
  },
  {
    name: 'storm-on',
    title: 'catalog page 1 at 16 connections during a login storm (8 connections)',
    block: 'storm',
    kind: 'store',
    quick: false,
    parts: (ctx) => [part('catalog', ctx.store, 16, () => [get('/api/catalog/books')]), part('logins', loginTarget(ctx), 8, (i) => logins(ctx, i))],
  },
  {
    name: 'orders',
    title: 'POST /api/purchase/orders (ample stock)',
    block: 'orders',
    kind: 'store',
    quick: true,
    placesOrders: true,
    parts: (ctx) => [part('orders', ctx.store, 16, (i) => [placeOrder(ctx, i)])],
  },
  {
    name: 'mixed',
    title: 'mixed: 80% browsing, 15% signed-in reads, 5% purchases',
    block: 'mixed',
    kind: 'store',
    quick: true,
    placesOrders: true,
    parts: (ctx) => mixedParts(ctx, C),
  },
];

/**
 * The mixed workload: every connection loops over 20 requests, 16 anonymous browsing (4 list
 * pages, 4 searches, 8 book details), 3 signed-in reads (/me, /orders, /my-books) and 1 purchase,
 * each connection with its own books, words and user. Where one origin serves everything (one
 * process, NGINX) that is one part; otherwise (split without NGINX) one part per service, with
 * connections in proportion to its share of the requests.
 */
function mixedParts(ctx: Context, connections: number): LoadPart[] {
  const sequence = (i: number): Request[] => {
    const ids = bookIds(ctx.dataset, i + 1000, 8);
    const word = (k: number) => encodeURIComponent(MIX_WORDS[(i + k) % MIX_WORDS.length]!);
    const token = tokenFor(ctx, i);
    const browse = [
      get('/api/catalog/books'),
      get(`/api/catalog/books?q=${word(0)}`),
      get(`/api/catalog/books?page=${2 + (i % 5)}`),
      get(`/api/catalog/books?q=${word(1)}`),
      get(`/api/catalog/books?page=${3 + (i % 7)}&sort=price_asc`),
      get(`/api/catalog/books?q=${word(2)}`),
      get('/api/catalog/books?sort=title'),
      get(`/api/catalog/books?q=${word(3)}&page=2`),
      ...ids.map((id) => get(`/api/catalog/books/${id}`)),
    ];
    const signedIn = [get('/api/auth/me', bearer(token)), get('/api/purchase/orders', bearer(token)), get('/api/catalog/my-books', bearer(token))];
    // Interleaved: the signed-in reads and the purchase spread over the sequence.
    return [...browse.slice(0, 5), signedIn[0]!, ...browse.slice(5, 10), signedIn[1]!, ...browse.slice(10, 16), signedIn[2]!, placeOrder(ctx, i)];
  };
  const origins = new Set(sequence(0).map((request) => ctx.store.origin(request.path!)));
  if (origins.size === 1) return [part('mixed', ctx.store, connections, sequence)];
  const byOrigin = new Map<string, (i: number) => Request[]>();
  for (const origin of origins) byOrigin.set(origin, (i) => sequence(i).filter((request) => ctx.store.origin(request.path!) === origin));
  const total = sequence(0).length;
  return [...byOrigin].map(([, seq]) => part(`mixed → ${moduleOf(seq(0)[0]!.path!)}`, ctx.store, Math.max(1, Math.round((connections * seq(0).length) / total)), seq));
}

export function selectScenarios(options: Options): Scenario[] {
  const known = new Set([...SCENARIOS.map((s) => s.name), 'pipeline']);
  for (const name of options.only) if (!known.has(name)) throw new Error(`--only: no scenario ${name} (known: ${[...known].join(', ')})`);
  return SCENARIOS.filter((s) => (options.only.length ? options.only.includes(s.name) : options.profile.name === 'full' || s.quick));
}

const OPEN_STATUSES = ['reserving', 'pending_payment', 'paid', 'shipped'];

/** Waits until no order is still on its way (all delivered, failed or cancelled). Returns seconds waited. */
export async function waitForOrdersSettled(dataset: Dataset, timeoutMs: number): Promise<{ seconds: number; open: number }> {
  const db = await createConnection({ uri: dataset.url });
  const started = Date.now();
  try {
    for (;;) {
      const [[row]] = (await db.query<RowDataPacket[]>('select count(*) as n from purchase_orders where status in (?)', [OPEN_STATUSES])) as unknown as [RowDataPacket[]];
      const open = Number(row!.n);
      if (open === 0 || Date.now() - started > timeoutMs) return { seconds: (Date.now() - started) / 1000, open };
      await sleep(250);
    }
  } finally {
    await db.end();
  }
}

/** Order counts by status among the orders created since `since`. */
export async function orderStatuses(db: Awaited<ReturnType<typeof createConnection>>, since: Date): Promise<Record<string, number>> {
  const [rows] = await db.query<RowDataPacket[]>('select status, count(*) as n from purchase_orders where created_at >= ? group by status', [since]);
  return Object.fromEntries(rows.map((row) => [String(row.status), Number(row.n)]));
}
