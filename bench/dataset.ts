/**
 * The benchmark's data: the demo seed scaled up (100,000 books, 1,000 users in the full profile) in a
 * MariaDB database of its own, created once and reused by later runs (`--fresh` rebuilds it).
 *
 * Creation: the store starts once on the empty database with BOOKSTORE_MIGRATE=true and
 * BOOKSTORE_SEED=demo (schema, delivery providers, the 400 demo books and their 8 sellers); then
 * rows go straight into the tables, which is setup, not what is measured:
 *  - users into `auth_users`, all with one Argon2id hash computed once by the store's own
 *    `hashPassword` (1,000 registrations through the API would spend minutes hashing and need
 *    34 distinct X-Forwarded-For addresses for the registration limit, for the same rows);
 *  - books into `catalog_books` with their words into `catalog_book_words`, made by the catalog's own
 *    `searchWords`, exactly as `createBook` indexes them: every demo book again with an edition
 *    suffix ("(Illustrated 12)"), spread over the demo sellers and the last two years;
 *  - 20 "bench books" with 10,000,000 in stock, sold by a bench seller, for the order scenarios.
 * A `bench_meta` row written last marks the dataset complete.
 *
 * Every run then starts from the same state (`resetRunState`): orders, reservations and sessions
 * of earlier runs are removed and the bench books' stock is restored.
 */
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
// The store's own Argon2id hash, so the bench's users sign in as registered ones do.
import { hashPassword } from '../modules/auth/password.js';
// The demo catalog the store seeds, scaled up from the same books.
import { demoBooks, demoSellers } from '../modules/catalog/demo-data.js';
// The catalog's own search words, so bulk-inserted books are found as listed ones are.
import { searchWords } from '../modules/catalog/words.js';
import { databaseUrl, type Options } from './options.js';
import { freePort, startServer, storeCommand } from './processes.js';

/** Bump when the way the data is generated changes: older datasets are then rebuilt. */
const DATASET_VERSION = 1;
export const BENCH_PASSWORD = 'bench password 0123';
export const BENCH_SELLER_EMAIL = 'bench.seller@bench.bookstore.test';
export const BENCH_BOOKS = 20;
export const BENCH_STOCK = 10_000_000;
export const benchUserEmail = (n: number) => `bench.user.${String(n).padStart(5, '0')}@bench.bookstore.test`;

const EDITIONS = ['Annotated', 'Illustrated', 'Revised', 'Collected', 'Abridged', 'Second', 'Pocket', 'Deluxe', 'Student', 'Anniversary'];

export interface Dataset {
  database: string;
  url: string;
  books: number;
  users: number;
  /** Ids of the bench books (ample stock) and of the bench seller. */
  benchBookIds: number[];
  benchSellerId: number;
  /** How it was obtained in this run. */
  created: boolean;
  seconds: number;
  /** Migrations applied after the dataset was made (a hint to rebuild with --fresh). */
  newerMigrations: string[];
}

interface Spec {
  version: number;
  books: number;
  users: number;
}

type Rows = RowDataPacket[];

async function connect(url: string): Promise<Connection> {
  return createConnection({ uri: url, multipleStatements: false, timezone: 'Z' });
}

async function readMeta(admin: Connection, database: string): Promise<{ spec: Spec; migrations: string[] } | undefined> {
  const [tables] = await admin.query<Rows>('select table_name from information_schema.tables where table_schema = ? and table_name = ?', [database, 'bench_meta']);
  if (tables.length === 0) return undefined;
  const [rows] = await admin.query<Rows>(`select spec, migrations from \`${database}\`.bench_meta where id = 1`);
  const row = rows[0];
  if (!row) return undefined;
  return { spec: JSON.parse(String(row.spec)) as Spec, migrations: JSON.parse(String(row.migrations)) as string[] };
}

/** Names of every migration applied, over the modules' own migration tables. */
async function appliedMigrations(db: Connection): Promise<string[]> {
  const [tables] = await db.query<Rows>("select table_name as name from information_schema.tables where table_schema = database() and table_name like 'bookstore\\_migrations\\_%'");
  const names: string[] = [];
  for (const { name } of tables) {
    const [rows] = await db.query<Rows>(`select name from \`${String(name)}\``);
    names.push(...rows.map((row) => `${String(name).replace('bookstore_migrations_', '')}/${String(row.name)}`));
  }
  return names.sort();
}

/** Starts the store once on the empty database: migrations and the demo seed. */
async function migrateAndSeed(options: Options, url: string) {
  const port = await freePort();
  const store = await startServer('seed', storeCommand(options.runtime, 'kernel/main.ts'), {
    DATABASE_URL: url,
    BOOKSTORE_MODULES: 'all',
    BOOKSTORE_MIGRATE: 'true',
    BOOKSTORE_SEED: 'demo',
    LOG_LEVEL: 'warn',
  }, port);
  await store.stop();
}

async function insertUsers(db: Connection, count: number): Promise<number> {
  const hash = await hashPassword(BENCH_PASSWORD);
  const created = new Date(Date.now() - 400 * 86_400_000);
  await db.query('insert into auth_users (name, email, password_hash, role, created_at) values (?, ?, ?, ?, ?)', ['Bench Seller', BENCH_SELLER_EMAIL, hash, 'customer', created]);
  for (let start = 1; start <= count; start += 1000) {
    const rows: unknown[][] = [];
    for (let n = start; n < Math.min(count + 1, start + 1000); n++) rows.push([`Bench User ${n}`, benchUserEmail(n), hash, 'customer', created]);
    await db.query('insert into auth_users (name, email, password_hash, role, created_at) values ?', [rows]);
  }
  const [[seller]] = (await db.query<Rows>('select id from auth_users where email = ?', [BENCH_SELLER_EMAIL])) as unknown as [Rows];
  return Number(seller!.id);
}

async function insertBooks(db: Connection, total: number, benchSellerId: number) {
  const [sellers] = await db.query<Rows>('select id, email from auth_users where email in (?)', [demoSellers.map((s) => s.email.toLowerCase())]);
  const sellerIds = demoSellers.map((s) => Number(sellers.find((row) => row.email === s.email.toLowerCase())?.id));
  if (sellerIds.some((id) => !Number.isInteger(id))) throw new Error('the demo sellers are missing: did the demo seed run?');
  const [[existing]] = (await db.query<Rows>('select count(*) as n, coalesce(max(id), 0) as maxId from catalog_books')) as unknown as [Rows];
  let nextId = Number(existing!.maxId) + 1;
  const now = Date.now();
  const twoYearsInMinutes = 730 * 24 * 60;

  type Row = [number, string, string, string, string | null, number, number, number, Date, Date];
  const books: Row[] = [];
  for (let i = 0; i < BENCH_BOOKS; i++) {
    const listed = new Date(now - (800 + i) * 86_400_000);
    books.push([nextId++, `Bench Volume ${i + 1}`, 'Load Generator', 'A book with ample stock for the order benchmarks.', null, 1000 + i * 10, BENCH_STOCK, benchSellerId, listed, listed]);
  }
  const generated = Math.max(0, total - Number(existing!.n) - BENCH_BOOKS);
  const flush = async () => {
    if (books.length === 0) return;
    const words = books.flatMap((book) => searchWords(`${book[1]} ${book[2]}`).map((word) => [word, book[0]]));
    await db.query('insert into catalog_books (id, title, author, description, isbn, price_cents, stock, seller_id, created_at, updated_at) values ?', [books]);
    await db.query('insert into catalog_book_words (word, book_id) values ?', [words]);
    books.length = 0;
  };
  for (let i = 0; i < generated; i++) {
    const demo = demoBooks[i % demoBooks.length]!;
    const title = `${demo.title} (${EDITIONS[i % EDITIONS.length]} ${Math.floor(i / demoBooks.length) + 1})`;
    const listed = new Date(now - ((i * 7919) % twoYearsInMinutes) * 60_000 - 60_000);
    books.push([nextId++, title, demo.author, demo.description, demo.isbn, 299 + ((i * 37) % 4700), i % 7, sellerIds[(i * 3) % sellerIds.length]!, listed, listed]);
    if (books.length >= 2000) await flush();
  }
  await flush();
}

async function createDataset(options: Options, admin: Connection, database: string, url: string) {
  const { books, users } = options.profile;
  await admin.query(`drop database if exists \`${database}\``);
  await admin.query(`create database \`${database}\` character set utf8mb4`);
  await migrateAndSeed(options, url);
  const db = await connect(url);
  try {
    const benchSellerId = await insertUsers(db, users);
    await insertBooks(db, books, benchSellerId);
    await db.query('analyze table catalog_books, catalog_book_words, auth_users');
    await db.query('create table bench_meta (id int primary key, spec text not null, migrations text not null, created_at datetime(3) not null)');
    const spec: Spec = { version: DATASET_VERSION, books, users };
    await db.query('insert into bench_meta values (1, ?, ?, ?)', [JSON.stringify(spec), JSON.stringify(await appliedMigrations(db)), new Date()]);
  } finally {
    await db.end();
  }
}

/** The dataset of this profile: reused when complete and of the same shape, else (re)built. */
export async function ensureDataset(options: Options, log: (line: string) => void): Promise<Dataset> {
  const started = Date.now();
  const { database, books, users } = options.profile;
  const url = databaseUrl(options.mysqlServer, database);
  const admin = await connect(options.mysqlServer);
  let created = false;
  let meta: Awaited<ReturnType<typeof readMeta>>;
  try {
    meta = options.fresh ? undefined : await readMeta(admin, database);
    const matches = meta && meta.spec.version === DATASET_VERSION && meta.spec.books === books && meta.spec.users === users;
    if (!matches) {
      log(`dataset ${database}: ${options.fresh ? '--fresh' : meta ? 'made with other settings' : 'not found'}; creating ${books.toLocaleString('en')} books and ${users.toLocaleString('en')} users…`);
      await createDataset(options, admin, database, url);
      created = true;
      meta = await readMeta(admin, database);
    }
  } finally {
    await admin.end();
  }
  const db = await connect(url);
  try {
    const [[counts]] = (await db.query<Rows>('select (select count(*) from catalog_books where deleted_at is null) as books, (select count(*) from auth_users where email like ?) as users', ['bench.user.%'])) as unknown as [Rows];
    const [bench] = await db.query<Rows>("select b.id, b.seller_id from catalog_books b join auth_users u on u.id = b.seller_id where u.email = ? and b.title like 'Bench Volume %' order by b.id", [BENCH_SELLER_EMAIL]);
    if (bench.length !== BENCH_BOOKS || Number(counts!.users) !== users) throw new Error(`dataset ${database} is incomplete; run with --fresh`);
    const newerMigrations = (await appliedMigrations(db)).filter((name) => !meta!.migrations.includes(name));
    return {
      database,
      url,
      books: Number(counts!.books),
      users,
      benchBookIds: bench.map((row) => Number(row.id)),
      benchSellerId: Number(bench[0]!.seller_id),
      created,
      seconds: (Date.now() - started) / 1000,
      newerMigrations,
    };
  } finally {
    await db.end();
  }
}

const RUN_STATE_TABLES = ['purchase_order_items', 'purchase_order_events', 'purchase_outbox', 'purchase_gateway_charges', 'purchase_orders', 'catalog_reservations', 'auth_sessions'];

/** Removes what earlier runs left (orders, reservations, sessions) and restores the bench books' stock. */
export async function resetRunState(dataset: Dataset): Promise<void> {
  const db = await connect(dataset.url);
  try {
    const [present] = await db.query<Rows>('select table_name as name from information_schema.tables where table_schema = database()');
    const names = new Set(present.map((row) => String(row.name)));
    for (const table of RUN_STATE_TABLES) if (names.has(table)) await db.query(`delete from \`${table}\``);
    await db.query('update catalog_books set stock = ?, version = version + 1 where id in (?)', [BENCH_STOCK, dataset.benchBookIds]);
  } finally {
    await db.end();
  }
}

/** Holds a MariaDB named lock for the run, so two benchmarks never share one dataset at once. */
export async function lockDataset(options: Options): Promise<() => Promise<void>> {
  const connection = await connect(options.mysqlServer);
  const name = `bookstore-bench:${options.profile.database}`;
  const [[row]] = (await connection.query<Rows>('select get_lock(?, 0) as got', [name])) as unknown as [Rows];
  if (Number(row!.got) !== 1) {
    await connection.end();
    throw new Error(`another benchmark is using ${options.profile.database} right now (lock ${name}); wait for it to finish`);
  }
  return async () => {
    await connection.query('select release_lock(?)', [name]).catch(() => undefined);
    await connection.end();
  };
}
