import type { Context } from 'hono';
import type { Book, BookQuery } from '../api.js';
import { Field, Notice, fieldErrors, problemMessage, type FieldErrors } from '../layout.js';
import { render } from '../render.js';
import type { Visit } from '../visit.js';

const PAGE_SIZE = 12;
const SORTS = ['newest', 'price_asc', 'price_desc', 'title'] as const;

/** The catalog's filters as the page's URL holds them: prices in currency units, as people type them. */
interface Filters {
  q: string;
  author: string;
  min: string;
  max: string;
  inStock: boolean;
  sort: string;
  page: number;
}

function filtersOf(c: Context): Filters {
  const page = Number(c.req.query('page'));
  const sort = c.req.query('sort') ?? '';
  return {
    q: c.req.query('q') ?? '',
    author: c.req.query('author') ?? '',
    min: c.req.query('min') ?? '',
    max: c.req.query('max') ?? '',
    inStock: c.req.query('inStock') === '1',
    sort: (SORTS as readonly string[]).includes(sort) ? sort : 'newest',
    page: Number.isInteger(page) && page >= 1 ? page : 1,
  };
}

/** "12.50" → 1250; anything that is not an amount is reported on its field. */
export function centsOf(amount: string): number | undefined {
  if (!/^\d{1,7}([.,]\d{1,2})?$/.test(amount.trim())) return undefined;
  return Math.round(Number(amount.trim().replace(',', '.')) * 100);
}

function queryOf(filters: Filters, errors: FieldErrors): BookQuery {
  const query: BookQuery = { q: filters.q.trim(), author: filters.author.trim(), sort: filters.sort, page: filters.page, limit: PAGE_SIZE };
  if (filters.inStock) query.inStock = true;
  for (const [field, key] of [['min', 'minPriceCents'], ['max', 'maxPriceCents']] as const) {
    if (!filters[field]) continue;
    const cents = centsOf(filters[field]);
    if (cents === undefined) errors[field] = 'must be an amount such as 12.50';
    else query[key] = cents;
  }
  return query;
}

/** The URL of this listing with some filters changed: every state lives in the URL. */
function listingUrl(filters: Filters, change: Partial<Filters>): string {
  const next = { ...filters, ...change };
  const params = new URLSearchParams();
  if (next.q) params.set('q', next.q);
  if (next.author) params.set('author', next.author);
  if (next.min) params.set('min', next.min);
  if (next.max) params.set('max', next.max);
  if (next.inStock) params.set('inStock', '1');
  if (next.sort !== 'newest') params.set('sort', next.sort);
  if (next.page > 1) params.set('page', String(next.page));
  const text = params.toString();
  return text ? `/?${text}` : '/';
}

export async function catalogPage(c: Context, visit: Visit): Promise<Response> {
  const { t } = visit.locale;
  const filters = filtersOf(c);
  const errors: FieldErrors = {};
  const query = queryOf(filters, errors);
  const answer = await visit.api.books(query);
  const listing = answer.ok ? answer.data : undefined;
  Object.assign(errors, answer.ok ? {} : fieldErrors(answer.problem, { minPriceCents: 'min', maxPriceCents: 'max' }));
  const filtered = Boolean(filters.q || filters.author || filters.min || filters.max || filters.inStock);
  const pages = listing ? Math.max(1, Math.ceil(listing.total / PAGE_SIZE)) : 1;
  return render(
    c,
    visit,
    t.books,
    <>
      <h1>{t.books}</h1>
      <SearchForm visit={visit} filters={filters} errors={errors} />
      {answer.ok ? null : <Notice kind="error">{problemMessage(visit, answer.problem)}</Notice>}
      {listing ? (
        <section aria-labelledby="results-heading">
          <h2 id="results-heading" class="visually-hidden">
            {t.booksFound(listing.total)}
          </h2>
          <p class="count" role="status">
            {t.booksFound(listing.total)}
          </p>
          {listing.items.length === 0 ? <p class="empty">{filtered ? t.noBooks : t.emptyCatalog}</p> : <BookList visit={visit} books={listing.items} />}
          {pages > 1 ? <Pagination visit={visit} filters={filters} pages={pages} /> : null}
        </section>
      ) : null}
    </>,
    answer.ok || answer.problem.status < 500 ? 200 : 503,
  );
}

function SearchForm({ visit, filters, errors }: { visit: Visit; filters: Filters; errors: FieldErrors }) {
  const { t } = visit.locale;
  const sorts: [string, string][] = [['newest', t.sortNewest], ['price_asc', t.sortPriceAsc], ['price_desc', t.sortPriceDesc], ['title', t.sortTitle]];
  return (
    <form method="get" action="/" role="search" class="filters">
      <Field name="q" label={t.search} type="search" value={filters.q} errors={errors} />
      <Field name="author" label={t.author} value={filters.author} errors={errors} />
      <Field name="min" label={t.minPrice} value={filters.min} inputmode="decimal" errors={errors} />
      <Field name="max" label={t.maxPrice} value={filters.max} inputmode="decimal" errors={errors} />
      <div class="field check">
        <input type="checkbox" id="field-inStock" name="inStock" value="1" checked={filters.inStock} />
        <label for="field-inStock">{t.inStockOnly}</label>
      </div>
      <div class="field">
        <label for="field-sort">{t.sortBy}</label>
        <select id="field-sort" name="sort">
          {sorts.map(([value, text]) => (
            <option value={value} selected={filters.sort === value}>
              {text}
            </option>
          ))}
        </select>
      </div>
      <div class="actions">
        <button type="submit">{t.searchButton}</button>
        <a href="/">{t.clearFilters}</a>
      </div>
    </form>
  );
}

function BookList({ visit, books }: { visit: Visit; books: Book[] }) {
  const { t, money } = visit.locale;
  return (
    <ul class="books">
      {books.map((book) => (
        <li>
          <article class="book-card">
            <h3>
              <a href={`/books/${book.id}`}>{book.title}</a>
            </h3>
            <p class="author">
              {t.by} {book.author}
            </p>
            <p class="price">{money(book.priceCents, book.currency)}</p>
            <p class={book.stock > 0 ? 'stock' : 'stock out'}>{book.stock > 0 ? t.inStock(book.stock) : t.outOfStock}</p>
          </article>
        </li>
      ))}
    </ul>
  );
}

function Pagination({ visit, filters, pages }: { visit: Visit; filters: Filters; pages: number }) {
  const { t } = visit.locale;
  return (
    <nav aria-label={t.pagination} class="pagination">
      {filters.page > 1 ? <a href={listingUrl(filters, { page: filters.page - 1 })} rel="prev">{t.previous}</a> : null}
      <span>{t.pageOf(filters.page, pages)}</span>
      {filters.page < pages ? <a href={listingUrl(filters, { page: filters.page + 1 })} rel="next">{t.next}</a> : null}
    </nav>
  );
}
