/**
 * The ceilings every scenario is compared with, in one bare hono + @hono/node-server process with
 * none of the store's middleware, ORM or validation:
 *
 *  - framework ceiling: `GET /api/catalog/books…` answers, from memory, the exact JSON the store
 *    answered for that URL when this process started (fetched once from SOURCE_URL);
 *  - database ceiling: `GET /api/catalog/sql/books?q&page&limit` and `/api/catalog/sql/books/:id`
 *    run the same SQL as the store's `listBooks` / `readBook` (./catalog-sql.ts) with a mysql2 pool
 *    of 10, as the store's own pool, and serialise the same JSON.
 *
 * Paths stay under /api/catalog/ so that, in the split topology, the ceilings go through an NGINX
 * rendered from the same template as the store's.
 *
 *   PORT, DATABASE_URL, SOURCE_URL, MEMORY_PATHS (JSON array of paths to preload)
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createPool, type RowDataPacket } from 'mysql2/promise';
import { detailQuery, listQueries } from './catalog-sql.js';

const port = Number(process.env.PORT ?? 0);
const pool = createPool({ uri: process.env.DATABASE_URL!, connectionLimit: 10, timezone: 'Z' });
const memory = new Map<string, string>();

for (const path of JSON.parse(process.env.MEMORY_PATHS ?? '[]') as string[]) {
  const response = await fetch(`${process.env.SOURCE_URL}${path}`);
  if (!response.ok) throw new Error(`GET ${path} from the store: ${response.status}`);
  memory.set(path, await response.text());
}

interface BookRow extends RowDataPacket {
  id: number;
  title: string;
  author: string;
  description: string;
  isbn: string | null;
  price_cents: number;
  stock: number;
  seller_id: number;
  created_at: Date;
  updated_at: Date;
}

/** modules/catalog/service.ts `bookView`. */
const view = (row: BookRow) => ({
  id: row.id,
  title: row.title,
  author: row.author,
  description: row.description,
  isbn: row.isbn ?? null,
  priceCents: row.price_cents,
  currency: 'USD',
  stock: row.stock,
  sellerId: row.seller_id,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
});

async function listBooks(q: string, page: number, limit: number) {
  const queries = listQueries(q, page, limit);
  const [[rows], [countRows]] = await Promise.all([
    pool.query<BookRow[]>(queries.page.sql, queries.page.params),
    pool.query<RowDataPacket[]>(queries.count.sql, queries.count.params),
  ]);
  return { items: rows.map(view), page, limit, total: Number(countRows[0]!.total) };
}

const app = new Hono();
app.get('/healthz', (c) => c.text('ok'));

app.get('/api/catalog/sql/books', async (c) => {
  const page = Number(c.req.query('page') ?? 1);
  const limit = Number(c.req.query('limit') ?? 20);
  return c.json(await listBooks(c.req.query('q') ?? '', page, limit));
});

app.get('/api/catalog/sql/books/:id', async (c) => {
  const query = detailQuery(Number(c.req.param('id')));
  const [rows] = await pool.query<BookRow[]>(query.sql, query.params);
  const row = rows[0];
  return row ? c.json({ book: view(row) }) : c.json({ code: 'not_found' }, 404);
});

app.get('/api/catalog/*', (c) => {
  const url = new URL(c.req.url);
  const body = memory.get(`${url.pathname}${url.search}`);
  return body === undefined ? c.json({ code: 'not_found' }, 404) : c.body(body, 200, { 'content-type': 'application/json; charset=utf-8' });
});

const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' });
const stop = () => server.close(() => void pool.end().then(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
