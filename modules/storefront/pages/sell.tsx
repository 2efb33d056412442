import type { Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from '../../../kernel/app.js';
import type { Book, BookFields, ProblemDocument, Sale, User } from '../api.js';
import { Field, Notice, Pager, fieldErrors, pageNumber, problemMessage, type FieldErrors } from '../layout.js';
import { pageStatusOf, render, seeOther } from '../render.js';
import { visitOf, type Storefront, type Visit } from '../visit.js';
import { centsOf } from './catalog.js';

const FORM_FIELDS = ['title', 'author', 'description', 'isbn', 'price', 'stock'] as const;
/** The book form as typed, in strings, so that a refused form comes back exactly as it was sent. */
type BookForm = Record<(typeof FORM_FIELDS)[number], string>;
type SignedIn = Visit & { user: User };

const EMPTY_FORM = Object.fromEntries(FORM_FIELDS.map((name) => [name, ''])) as BookForm;
const RENAMES = { priceCents: 'price' };
const DONE = ['added', 'saved', 'deleted'] as const;
const statusOf = (problem: ProblemDocument) => pageStatusOf(problem.status);

/** A book as its edit form shows it: the price in currency units, as people type it. */
function formOfBook({ title, author, description, isbn, priceCents, stock }: Book): BookForm {
  return { title, author, description: description ?? '', isbn: isbn ?? '', price: (priceCents / 100).toFixed(2), stock: String(stock) };
}

async function typedForm(c: Context): Promise<{ form: BookForm; version: string }> {
  const body = await c.req.parseBody();
  const text = (name: string) => (typeof body[name] === 'string' ? body[name] : '');
  return { form: Object.fromEntries(FORM_FIELDS.map((name) => [name, text(name)])) as BookForm, version: text('version') };
}

/**
 * The API's fields from the form, or undefined with `errors` filled. Price and stock are checked
 * here because the API only ever sees numbers. A new book omits what was left empty; a change
 * clears it instead (the API takes "" for no description and null for no ISBN).
 */
function fieldsOf(form: BookForm, visit: Visit, change: boolean, errors: FieldErrors): BookFields | undefined {
  const priceCents = centsOf(form.price);
  const stock = /^\d{1,9}$/.test(form.stock.trim()) ? Number(form.stock.trim()) : undefined;
  if (priceCents === undefined) errors.price = visit.locale.t.notAnAmount;
  if (stock === undefined) errors.stock = visit.locale.t.notWholeNumber;
  if (priceCents === undefined || stock === undefined) return undefined;
  const fields: BookFields = { title: form.title, author: form.author, priceCents, stock };
  if (form.description.trim() || change) fields.description = form.description.trim() ? form.description : '';
  if (form.isbn.trim() || change) fields.isbn = form.isbn.trim() || null;
  return fields;
}

/** Sign in first, then back here; a POST's result page is the page its form was on. */
function toSignIn(c: Context, back: string): Response {
  return c.redirect(`/sign-in?back=${encodeURIComponent(back)}`, c.req.method === 'GET' ? 302 : 303);
}

function signedIn(storefront: Storefront, page: (c: Context<AppEnv>, visit: SignedIn) => Promise<Response>, back?: string) {
  return async (c: Context<AppEnv>) => {
    const visit = await visitOf(c, storefront);
    return visit.user ? page(c, { ...visit, user: visit.user }) : toSignIn(c, back ?? visit.here);
  };
}

export function sellRoutes(app: Hono<AppEnv>, storefront: Storefront): void {
  app.get('/sell', signedIn(storefront, (c, visit) => sellPage(c, visit)));
  app.post('/sell', signedIn(storefront, addBook));
  app.get('/sell/:id/edit', signedIn(storefront, editBook));
  app.post('/sell/:id/edit', signedIn(storefront, saveBook));
  app.post('/sell/:id/delete', signedIn(storefront, deleteBook, '/sell'));
  app.get('/sales', signedIn(storefront, salesPage));
}

/** `message`: why the add form was refused, next to it; `listMessage`: why deleting was, at the top. */
interface SellState { form?: BookForm; errors?: FieldErrors; message?: string; listMessage?: string; status?: ContentfulStatusCode }

async function sellPage(c: Context, visit: SignedIn, state: SellState = {}): Promise<Response> {
  const { t } = visit.locale;
  const answer = await visit.api.myBooks();
  if (!answer.ok && answer.problem.status === 401) return toSignIn(c, '/sell');
  const done = DONE.find((word) => word === c.req.query('done'));
  const listMessage = state.listMessage ?? (answer.ok ? undefined : problemMessage(visit, answer.problem));
  const books = answer.ok ? answer.data.items : [];
  return render(c, visit, t.sell, (
    <>
      <h1>{t.sell}</h1>
      {done ? <Notice kind="success">{t[done]}</Notice> : null}
      {listMessage ? <Notice kind="error">{listMessage}</Notice> : null}
      <section aria-labelledby="your-books">
        <h2 id="your-books">{t.yourBooks}</h2>
        {books.length ? <MyBooks visit={visit} books={books} /> : answer.ok ? <p class="empty">{t.noBooksForSale}</p> : null}
      </section>
      <section aria-labelledby="add-book">
        <h2 id="add-book">{t.addBook}</h2>
        {state.message ? <Notice kind="error">{state.message}</Notice> : null}
        <form method="post" action="/sell">
          <BookFormFields visit={visit} form={state.form ?? EMPTY_FORM} errors={state.errors ?? {}} />
          <div class="actions"><button type="submit">{t.addBookButton}</button></div>
        </form>
      </section>
    </>
  ), state.status ?? (answer.ok ? 200 : statusOf(answer.problem)));
}

function MyBooks({ visit, books }: { visit: Visit; books: Book[] }) {
  const { t, money } = visit.locale;
  // The visually hidden title makes each "Edit" and "Delete" say which book it acts on.
  return (
    <table class="my-books" aria-labelledby="your-books">
      <thead>
        <tr>{[t.title, t.price, t.stock, t.actions].map((header) => <th scope="col">{header}</th>)}</tr>
      </thead>
      <tbody>
        {books.map((book) => (
          <tr>
            <th scope="row"><a href={`/books/${book.id}`}>{book.title}</a></th>
            <td>{money(book.priceCents, book.currency)}</td>
            <td>{book.stock}</td>
            <td class="row-actions">
              <a href={`/sell/${book.id}/edit`}>{t.edit}<span class="visually-hidden"> {book.title}</span></a>{' '}
              <form method="post" action={`/sell/${book.id}/delete`} class="inline">
                <button type="submit">{t.delete}<span class="visually-hidden"> {book.title}</span></button>
              </form>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function BookFormFields({ visit, form, errors }: { visit: Visit; form: BookForm; errors: FieldErrors }) {
  const { t } = visit.locale;
  return (
    <>
      <Field name="title" label={t.title} value={form.title} errors={errors} required />
      <Field name="author" label={t.author} value={form.author} errors={errors} required />
      <Field name="description" label={t.description} value={form.description} errors={errors} multiline />
      <Field name="isbn" label={t.isbn} hint={t.isbnHint} value={form.isbn} errors={errors} />
      <Field name="price" label={t.price} hint={t.priceHint} value={form.price} errors={errors} inputmode="decimal" required />
      <Field name="stock" label={t.stock} type="number" min={0} step="1" value={form.stock} errors={errors} required />
    </>
  );
}

async function addBook(c: Context, visit: SignedIn): Promise<Response> {
  const { form } = await typedForm(c);
  const errors: FieldErrors = {};
  const fields = fieldsOf(form, visit, false, errors);
  if (!fields) return sellPage(c, visit, { form, errors, message: visit.locale.t.fixErrors, status: 400 });
  const answer = await visit.api.addBook(fields);
  if (answer.ok) return seeOther(c, '/sell?done=added');
  if (answer.problem.status === 401) return toSignIn(c, '/sell');
  return sellPage(c, visit, { form, errors: fieldErrors(answer.problem, RENAMES), message: problemMessage(visit, answer.problem), status: statusOf(answer.problem) });
}

async function deleteBook(c: Context, visit: SignedIn): Promise<Response> {
  const answer = await visit.api.deleteBook(c.req.param('id') ?? '');
  if (answer.ok) return seeOther(c, '/sell?done=deleted');
  if (answer.problem.status === 401) return toSignIn(c, '/sell');
  return sellPage(c, visit, { listMessage: problemMessage(visit, answer.problem), status: statusOf(answer.problem) });
}

const messagePage = (c: Context, visit: Visit, heading: string, text: string, status: ContentfulStatusCode) =>
  render(c, visit, heading, <><h1>{heading}</h1><p>{text}</p></>, status);

/** The visitor's own book with its version (ETag), or the page that says why it cannot be edited. */
async function ownBook(c: Context, visit: SignedIn, id: string): Promise<{ book: Book; version: string } | Response> {
  const { t } = visit.locale;
  const answer = await visit.api.book(id);
  if (!answer.ok && answer.problem.status === 404) return messagePage(c, visit, t.notFound, t.bookNotFound, 404);
  if (!answer.ok) return messagePage(c, visit, t.editThisBook, problemMessage(visit, answer.problem), statusOf(answer.problem));
  if (answer.data.book.sellerId !== visit.user.id) return messagePage(c, visit, t.editThisBook, t.notYourBook, 403);
  return { book: answer.data.book, version: answer.response.headers.get('etag') ?? '' };
}

/** `heading`: the title the heading names; `version`: the ETag the form was read at. */
interface EditState { id: string; heading: string; form: BookForm; version: string; errors?: FieldErrors; message?: string; status?: ContentfulStatusCode }

function editPage(c: Context, visit: Visit, state: EditState): Promise<Response> {
  const { t } = visit.locale;
  const heading = t.editBook(state.heading);
  return render(c, visit, heading, (
    <>
      <h1>{heading}</h1>
      {state.message ? <Notice kind="error">{state.message}</Notice> : null}
      <form method="post" action={`/sell/${encodeURIComponent(state.id)}/edit`}>
        {/* The version read with the form: the save is refused if the book changed since. */}
        <input type="hidden" name="version" value={state.version} />
        <BookFormFields visit={visit} form={state.form} errors={state.errors ?? {}} />
        <div class="actions">
          <button type="submit">{t.saveChanges}</button> <a href="/sell">{t.yourBooks}</a>
        </div>
      </form>
    </>
  ), state.status ?? 200);
}

async function editBook(c: Context, visit: SignedIn): Promise<Response> {
  const own = await ownBook(c, visit, c.req.param('id') ?? '');
  if (own instanceof Response) return own;
  return editPage(c, visit, { id: String(own.book.id), heading: own.book.title, form: formOfBook(own.book), version: own.version });
}

async function saveBook(c: Context, visit: SignedIn): Promise<Response> {
  const { t } = visit.locale;
  const id = c.req.param('id') ?? '';
  const { form, version } = await typedForm(c);
  const typed = { id, heading: form.title.trim() || `#${id}`, form, version };
  const errors: FieldErrors = {};
  const fields = fieldsOf(form, visit, true, errors);
  if (!fields) return editPage(c, visit, { ...typed, errors, message: t.fixErrors, status: 400 });
  const answer = await visit.api.changeBook(id, fields, version || undefined);
  if (answer.ok) return seeOther(c, '/sell?done=saved');
  const { problem } = answer;
  if (problem.status === 401) return toSignIn(c, `/sell/${id}/edit`);
  if (problem.status === 404) return messagePage(c, visit, t.notFound, t.bookNotFound, 404);
  if (problem.code !== 'precondition_failed') {
    return editPage(c, visit, { ...typed, errors: fieldErrors(problem, RENAMES), message: problemMessage(visit, problem), status: statusOf(problem) });
  }
  // Changed meanwhile (often an order taking stock): show what it is now, to decide again.
  const own = await ownBook(c, visit, id);
  if (own instanceof Response) return own;
  return editPage(c, visit, { id, heading: own.book.title, form: formOfBook(own.book), version: own.version, message: t.bookChanged, status: 409 });
}

async function salesPage(c: Context, visit: SignedIn): Promise<Response> {
  const { t } = visit.locale;
  const page = pageNumber(c);
  const answer = await visit.api.sales(page);
  if (!answer.ok && answer.problem.status === 401) return toSignIn(c, visit.here);
  const body = answer.ok ? (
    <>
      {answer.data.items.length ? <SalesTable visit={visit} sales={answer.data.items} /> : <p class="empty">{t.noSales}</p>}
      <Pager visit={visit} path="/sales" page={page} total={answer.data.total} limit={answer.data.limit} />
    </>
  ) : (
    <Notice kind="error">{problemMessage(visit, answer.problem)}</Notice>
  );
  return render(c, visit, t.mySales, <><h1 id="sales-heading">{t.mySales}</h1>{body}</>, answer.ok ? 200 : statusOf(answer.problem));
}

function SalesTable({ visit, sales }: { visit: Visit; sales: Sale[] }) {
  const { t, money, dateTime } = visit.locale;
  const headers = [t.book, t.quantity, t.price, t.status, t.date];
  return (
    <table aria-labelledby="sales-heading">
      <thead>
        <tr>{headers.map((header) => <th scope="col">{header}</th>)}</tr>
      </thead>
      <tbody>
        {sales.map((sale) => (
          <tr>
            <td><a href={`/books/${sale.bookId}`}>{sale.title}</a></td>
            <td>{sale.quantity}</td>
            <td>{money(sale.unitPriceCents, sale.currency)}</td>
            <td>{t.statuses[sale.orderStatus] ?? sale.orderStatus}</td>
            <td>{dateTime(sale.orderedAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
