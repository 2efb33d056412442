import { randomUUID } from 'node:crypto';
import type { Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AppEnv } from '../../../kernel/app.js';
import type { Book, DeliveryProvider, ProblemDocument } from '../api.js';
import { Field, Notice, fieldErrors, problemMessage, type FieldErrors } from '../layout.js';
import { pageStatusOf, render, seeOther } from '../render.js';
import { visitOf, type Storefront, type Visit } from '../visit.js';

/*
 * Checkout of one book: one form, so that it works without JavaScript. "Update total" posts it back
 * to show the total for another quantity or carrier; "Place order" places it. The Idempotency-Key
 * is made when the checkout opens and travels in the form, so a double click, a reload or a retry
 * after an error answers the same order instead of buying twice.
 */
export function checkoutRoutes(app: Hono<AppEnv>, storefront: Storefront): void {
  app.get('/checkout', async (c) => {
    const visit = await visitOf(c, storefront);
    if (!visit.user) return c.redirect(`/sign-in?back=${encodeURIComponent(visit.here)}`);
    const form = { book: c.req.query('book') ?? '', quantity: c.req.query('quantity') ?? '1', provider: c.req.query('provider') ?? '', method: 'card', key: randomUUID() };
    return checkoutPage(c, visit, form, {});
  });
  app.post('/checkout', async (c) => {
    const visit = await visitOf(c, storefront);
    if (!visit.user) return c.redirect('/sign-in?back=/', 303);
    const body = await c.req.parseBody();
    const form = Object.fromEntries(Object.entries(body).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
    if (form.action !== 'place') return checkoutPage(c, visit, form, {});
    return placeOrder(c, visit, form);
  });
}

type CheckoutForm = Record<string, string>;

interface Outcome {
  errors?: FieldErrors;
  message?: string;
  status?: ContentfulStatusCode;
}

/** Where the API's error paths land in this form. */
const FIELD_OF: Record<string, string> = { deliveryProviderId: 'provider', 'items.0.quantity': 'quantity', 'shippingAddress.name': 'addressName', 'payment.email': 'paypalEmail' };

async function placeOrder(c: Context, visit: Visit, form: CheckoutForm): Promise<Response> {
  const payment = paymentOf(form);
  const order = {
    items: [{ bookId: Number(form.book), quantity: Number(form.quantity) }],
    deliveryProviderId: form.provider ?? '',
    shippingAddress: addressOf(form),
    payment,
  };
  const placed = await visit.api.placeOrder(order, form.key || randomUUID());
  if (placed.ok) return seeOther(c, `/orders/${placed.data.order.id}`);
  return checkoutPage(c, visit, form, refusal(visit, placed.problem));
}

function refusal(visit: Visit, problem: ProblemDocument): Outcome {
  const errors = fieldErrors(problem, FIELD_OF);
  const message = problem.code === 'insufficient_stock' ? visit.locale.t.notEnoughStock : problemMessage(visit, problem);
  return { errors, message, status: pageStatusOf(problem.status) };
}

function addressOf(form: CheckoutForm) {
  const address: Record<string, string> = { name: form.addressName ?? '', line1: form.line1 ?? '', city: form.city ?? '', country: form.country ?? '' };
  if (form.line2) address.line2 = form.line2;
  if (form.postalCode) address.postalCode = form.postalCode;
  return address;
}

function paymentOf(form: CheckoutForm) {
  if (form.method === 'paypal') return { method: 'paypal', email: form.paypalEmail ?? '' };
  if (form.method === 'bank_transfer') return { method: 'bank_transfer' };
  const number = (value: string | undefined) => (value && /^\d+$/.test(value.trim()) ? Number(value) : value ?? '');
  return { method: 'card', cardNumber: (form.cardNumber ?? '').replace(/[\s-]/g, ''), expMonth: number(form.expMonth), expYear: number(form.expYear), cvc: form.cvc ?? '' };
}

async function checkoutPage(c: Context, visit: Visit, form: CheckoutForm, outcome: Outcome): Promise<Response> {
  const { t } = visit.locale;
  const [book, providers] = await Promise.all([visit.api.book(form.book ?? ''), visit.api.deliveryProviders()]);
  if (!book.ok || !providers.ok) {
    const problem = !book.ok ? book.problem : !providers.ok ? providers.problem : undefined;
    const missing = problem?.status === 404 || problem?.status === 400;
    const body = <><h1>{t.checkout}</h1><Notice kind="error">{missing ? t.bookNotFound : problemMessage(visit, problem!)}</Notice><p><a href="/">{t.catalog}</a></p></>;
    return render(c, visit, t.checkout, body, missing ? 404 : 503);
  }
  const choice = chosen(form, book.data.book, providers.data.items);
  return render(
    c,
    visit,
    t.checkout,
    <>
      <h1>{t.checkout}</h1>
      {outcome.message ? <Notice kind="error">{outcome.message}</Notice> : null}
      <form method="post" action="/checkout" class="checkout" data-checkout>
        <input type="hidden" name="book" value={String(choice.book.id)} />
        <input type="hidden" name="key" value={form.key ?? randomUUID()} />
        <OrderChoice visit={visit} choice={choice} providers={providers.data.items} errors={outcome.errors} />
        <AddressFields visit={visit} form={form} errors={outcome.errors} />
        <PaymentFields visit={visit} form={form} errors={outcome.errors} />
        <p class="hint">{t.placeOrderNote}</p>
        <button type="submit" name="action" value="place" class="primary" data-once>
          {t.placeOrder}
        </button>
      </form>
    </>,
    outcome.status ?? 200,
  );
}

interface Choice {
  book: Book;
  quantity: number;
  provider: DeliveryProvider | undefined;
}

/** The quantity (bounded by stock) and carrier asked for, or sensible ones. */
function chosen(form: CheckoutForm, book: Book, providers: DeliveryProvider[]): Choice {
  const most = Math.max(1, Math.min(book.stock, 100));
  const asked = Number(form.quantity);
  const quantity = Number.isInteger(asked) ? Math.min(Math.max(asked, 1), most) : 1;
  const provider = providers.find((p) => p.id === form.provider) ?? providers[0];
  return { book, quantity, provider };
}

function OrderChoice({ visit, choice, providers, errors }: { visit: Visit; choice: Choice; providers: DeliveryProvider[]; errors: FieldErrors | undefined }) {
  const { t, money } = visit.locale;
  const { book, quantity, provider } = choice;
  const subtotal = book.priceCents * quantity;
  const delivery = provider?.costCents ?? 0;
  return (
    <section aria-labelledby="order-heading" class="panel">
      <h2 id="order-heading">{t.yourOrder}</h2>
      <p>
        <a href={`/books/${book.id}`}>{book.title}</a> — {money(book.priceCents, book.currency)}
      </p>
      <Field name="quantity" label={t.quantity} type="number" min={1} max={Math.max(1, Math.min(book.stock, 100))} value={quantity} errors={errors} required />
      <fieldset>
        <legend>{t.delivery}</legend>
        {providers.map((p) => (
          <div class="field check">
            <input type="radio" id={`provider-${p.id}`} name="provider" value={p.id} checked={p.id === provider?.id} data-cost={String(p.costCents)} />
            <label for={`provider-${p.id}`}>
              {p.name} ({p.coverage}) — {money(p.costCents, book.currency)}
            </label>
          </div>
        ))}
      </fieldset>
      <button type="submit" name="action" value="update" formnovalidate>
        {t.updateTotal}
      </button>
      <dl class="summary" data-price={String(book.priceCents)} data-currency={book.currency} data-locale={visit.locale.language}>
        <dt>{t.subtotal}</dt>
        <dd data-subtotal>{money(subtotal, book.currency)}</dd>
        <dt>{t.deliveryCost}</dt>
        <dd data-delivery>{money(delivery, book.currency)}</dd>
        <dt>{t.total}</dt>
        <dd data-total>
          <strong>{money(subtotal + delivery, book.currency)}</strong>
        </dd>
      </dl>
    </section>
  );
}

function AddressFields({ visit, form, errors }: { visit: Visit; form: CheckoutForm; errors: FieldErrors | undefined }) {
  const { t } = visit.locale;
  return (
    <fieldset class="panel">
      <legend>{t.shippingAddress}</legend>
      <Field name="addressName" label={t.fullName} value={form.addressName} errors={errors} autocomplete="shipping name" required />
      <Field name="line1" label={t.line1} value={form.line1} errors={errors} autocomplete="shipping address-line1" required />
      <Field name="line2" label={t.line2} value={form.line2} errors={errors} autocomplete="shipping address-line2" />
      <Field name="city" label={t.city} value={form.city} errors={errors} autocomplete="shipping address-level2" required />
      <Field name="postalCode" label={t.postalCode} value={form.postalCode} errors={errors} autocomplete="shipping postal-code" />
      <Field name="country" label={t.country} value={form.country} errors={errors} autocomplete="shipping country-name" required />
    </fieldset>
  );
}

function PaymentFields({ visit, form, errors }: { visit: Visit; form: CheckoutForm; errors: FieldErrors | undefined }) {
  const { t } = visit.locale;
  const method = form.method ?? 'card';
  const radio = (value: string, label: string) => (
    <div class="field check">
      <input type="radio" id={`method-${value}`} name="method" value={value} checked={method === value} />
      <label for={`method-${value}`}>{label}</label>
    </div>
  );
  return (
    <fieldset class="panel">
      <legend>{t.payment}</legend>
      {radio('card', t.card)}
      {radio('paypal', t.paypal)}
      {radio('bank_transfer', t.bankTransfer)}
      <div data-method="card" class="method-fields">
        <p class="hint">{t.cardFieldsHint}</p>
        <Field name="cardNumber" label={t.cardNumber} value={form.cardNumber} errors={errors} inputmode="numeric" autocomplete="cc-number" />
        <div class="row">
          <Field name="expMonth" label={t.expMonth} value={form.expMonth} errors={errors} inputmode="numeric" autocomplete="cc-exp-month" />
          <Field name="expYear" label={t.expYear} value={form.expYear} errors={errors} inputmode="numeric" autocomplete="cc-exp-year" />
          <Field name="cvc" label={t.cvc} value={form.cvc} errors={errors} inputmode="numeric" autocomplete="cc-csc" />
        </div>
        <TestCards visit={visit} />
      </div>
      <div data-method="paypal" class="method-fields">
        <p class="hint">{t.paypalHint}</p>
        <Field name="paypalEmail" label={t.paypalEmail} type="email" value={form.paypalEmail} errors={errors} autocomplete="email" />
      </div>
    </fieldset>
  );
}

function TestCards({ visit }: { visit: Visit }) {
  const { t } = visit.locale;
  return (
    <div class="test-cards">
      <p>{t.testCards}</p>
      <ul>
        <li>
          <code>4242 4242 4242 4242</code> {t.testCardGood}
        </li>
        <li>
          <code>4000 0000 0000 0002</code> {t.testCardDeclined}
        </li>
        <li>
          <code>4000 0000 0000 0119</code> {t.testCardFlaky}
        </li>
      </ul>
    </div>
  );
}
