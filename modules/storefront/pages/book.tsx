import type { Context } from 'hono';
import { Notice, problemMessage } from '../layout.js';
import { render } from '../render.js';
import type { Visit } from '../visit.js';

/** One book: what it is, what it costs, who sells it, and "Buy" (a plain GET to the checkout). */
export async function bookPage(c: Context, visit: Visit, id: string): Promise<Response> {
  const { t, money } = visit.locale;
  const answer = await visit.api.book(id);
  if (!answer.ok) {
    const missing = answer.problem.status === 404;
    const message = missing ? t.bookNotFound : problemMessage(visit, answer.problem);
    return render(c, visit, t.notFound, <><h1>{missing ? t.notFound : t.book}</h1><Notice kind="error">{message}</Notice><p><a href="/">{t.catalog}</a></p></>, missing ? 404 : 503);
  }
  const { book } = answer.data;
  const own = visit.user?.id === book.sellerId;
  return render(
    c,
    visit,
    book.title,
    <article class="book">
      <h1>{book.title}</h1>
      <p class="author">
        {t.by} {book.author}
      </p>
      <p class="price">{money(book.priceCents, book.currency)}</p>
      <p class={book.stock > 0 ? 'stock' : 'stock out'}>{book.stock > 0 ? t.inStock(book.stock) : t.outOfStock}</p>
      <p class="seller">{t.soldBy(book.sellerId)}</p>
      {book.isbn ? <p class="isbn">ISBN {book.isbn}</p> : null}
      {book.description ? <div class="description">{book.description.split(/\r?\n\r?\n/).map((paragraph) => <p>{paragraph}</p>)}</div> : null}
      {own ? (
        <p>
          {t.yourBook} <a href={`/sell/${book.id}/edit`}>{t.editThisBook}</a>
        </p>
      ) : book.stock > 0 ? (
        <form method="get" action="/checkout" class="buy">
          <input type="hidden" name="book" value={String(book.id)} />
          <div class="field">
            <label for="field-quantity">{t.quantity}</label>
            <input id="field-quantity" name="quantity" type="number" min={1} max={Math.min(book.stock, 100)} value="1" required />
          </div>
          <button type="submit">{t.buy}</button>
        </form>
      ) : null}
    </article>,
  );
}
