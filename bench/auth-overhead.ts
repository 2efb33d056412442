/**
 * What authentication costs per request, and how fast the catalog lists and searches on MariaDB
 * with the demo catalog plus 100,000 generated books.
 *
 *   npm run bench:auth [-- --books 100000 --seconds 5]
 *
 * The store runs as its own process (as in production); autocannon drives it from this process.
 * Figures are compared within the same run, since the machines are noisy.
 */
import autocannon from 'autocannon';
import { createConnection } from 'mysql2/promise';
import { demoBooks } from '../modules/catalog/demo-data.js';
import { searchWords } from '../modules/catalog/words.js';
import { apiClient, createTestDatabase, freePort, signUp, startStoreProcess, testRedis } from '../test/harness.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? Number(args[index + 1]) : fallback;
};
const BOOKS = option('books', 100_000);
const SECONDS = option('seconds', 5);
/** `--keep` leaves the scratch database behind, for EXPLAIN. */
const KEEP = args.includes('--keep');

const EXTRA_WORDS = ['Annotated', 'Illustrated', 'Revised', 'Collected', 'Abridged', 'Second', 'Pocket', 'Deluxe', 'Student', 'Anniversary'];

/** Bulk rows straight into the catalog's tables: setup only, so that 100k books load in seconds. */
async function addGeneratedBooks(databaseUrl: string, count: number) {
  const connection = await createConnection({ uri: databaseUrl });
  const batch = 2000;
  const now = Date.now();
  const [[{ next }]] = (await connection.query('select coalesce(max(id), 0) + 1 as next from catalog_books')) as unknown as [[{ next: number }]];
  for (let start = 0; start < count; start += batch) {
    const books: unknown[][] = [];
    const words: unknown[][] = [];
    for (let i = start; i < Math.min(count, start + batch); i++) {
      const demo = demoBooks[i % demoBooks.length]!;
      const id = next + i;
      const title = `${demo.title} (${EXTRA_WORDS[i % EXTRA_WORDS.length]} ${Math.floor(i / demoBooks.length) + 1})`;
      const listed = new Date(now - i * 60_000);
      books.push([id, title, demo.author, demo.description, demo.isbn, 299 + ((i * 37) % 4700), i % 7, 1 + (i % 8), listed, listed]);
      for (const word of searchWords(`${title} ${demo.author}`)) words.push([word, id]);
    }
    await connection.query(
      'insert into catalog_books (id, title, author, description, isbn, price_cents, stock, seller_id, created_at, updated_at) values ?',
      [books],
    );
    await connection.query('insert into catalog_book_words (word, book_id) values ?', [words]);
  }
  await connection.query('analyze table catalog_books, catalog_book_words');
  await connection.end();
}

interface Result {
  name: string;
  connections: number;
  requestsPerSecond: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

async function run(name: string, url: string, connections: number, headers: Record<string, string> = {}): Promise<Result> {
  const result = await autocannon({ url, connections, duration: SECONDS, headers });
  const errors = result.errors + result.non2xx;
  return {
    name,
    connections,
    requestsPerSecond: Math.round(result.requests.average),
    meanMs: result.latency.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors,
  };
}

async function main() {
  const db = await createTestDatabase();
  const redis = testRedis();
  const store = await startStoreProcess(
    { DATABASE_URL: db.url, REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix, BOOKSTORE_SEED: 'demo', LOG_LEVEL: 'warn' },
    freePort(),
  );
  try {
    console.log(`loading ${BOOKS} generated books…`);
    await addGeneratedBooks(db.url, BOOKS);
    const request = apiClient(store.url);
    const { token } = await signUp(request, 'Bench User');
    const bearer = { authorization: `Bearer ${token}` };
    const total = (await request('GET', '/api/catalog/books?limit=1')).body.total as number;

    const results: Result[] = [];
    const scenario = async (name: string, path: string, connections: number, headers?: Record<string, string>) => {
      await run(name, `${store.url}${path}`, connections, headers); // warm-up, discarded
      const result = await run(name, `${store.url}${path}`, connections, headers);
      results.push(result);
      console.log(`${name} (c=${connections}): ${result.requestsPerSecond} req/s, mean ${result.meanMs.toFixed(2)} ms, p99 ${result.p99Ms} ms, errors ${result.errors}`);
    };

    await scenario('GET /healthz (framework floor)', '/healthz', 1);
    await scenario('GET /books/1 anonymous', '/api/catalog/books/1', 1);
    await scenario('GET /books/1 with Bearer token', '/api/catalog/books/1', 1, bearer);
    await scenario('GET /auth/me', '/api/auth/me', 1, bearer);
    await scenario('GET /books page 1', '/api/catalog/books', 1);
    await scenario('GET /books page 1', '/api/catalog/books', 32);
    await scenario('GET /books?q=love', '/api/catalog/books?q=love', 32);
    await scenario('GET /books?q=gabriel marq', '/api/catalog/books?q=gabriel%20marq', 32);
    await scenario('GET /books?sort=price_asc&inStock=true', '/api/catalog/books?sort=price_asc&inStock=true', 32);
    await scenario('GET /books?page=2000', '/api/catalog/books?page=2000', 32);

    const anonymous = results.find((r) => r.name === 'GET /books/1 anonymous')!;
    const authed = results.find((r) => r.name === 'GET /books/1 with Bearer token')!;
    console.log(`\nbooks in catalog: ${total}`);
    console.log('| scenario | connections | req/s | mean ms | p50 ms | p99 ms | errors |');
    console.log('|---|---|---|---|---|---|---|');
    for (const r of results) console.log(`| ${r.name} | ${r.connections} | ${r.requestsPerSecond} | ${r.meanMs.toFixed(2)} | ${r.p50Ms} | ${r.p99Ms} | ${r.errors} |`);
    console.log(
      `\nauthentication overhead per request (same route, one connection): ${(authed.meanMs - anonymous.meanMs).toFixed(3)} ms mean ` +
        `(${(authed.meanMs / anonymous.meanMs).toFixed(2)}× the anonymous request)`,
    );
  } finally {
    await store.stop();
    if (KEEP) console.log(`kept database ${db.name}`);
    else await db.drop();
    await redis.drop();
  }
}

await main();
process.exit(0);
