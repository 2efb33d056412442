import type { Context, Hono } from 'hono';
import type { AppEnv } from '../../../kernel/app.js';
import type { Order } from '../api.js';
import { Notice, Pager, pageNumber, problemMessage } from '../layout.js';
import { pageStatusOf, render, seeOther } from '../render.js';
import { visitOf, type Storefront, type Visit } from '../visit.js';

/** The happy path of an order, for the progress bar; failures and cancellations leave it. */
const PROGRESS = ['pending_payment', 'paid', 'shipped', 'delivered'];
const CANCELLABLE = ['pending_payment', 'paid'];

/** My orders, one order with its live timeline, and cancelling it. */
export function orderRoutes(app: Hono<AppEnv>, storefront: Storefront): void {
  app.get('/orders', async (c) => {
    const visit = await visitOf(c, storefront);
    if (!visit.user) return c.redirect('/sign-in?back=/orders');
    return ordersPage(c, visit);
  });
  app.get('/orders/:id', async (c) => {
    const visit = await visitOf(c, storefront);
    if (!visit.user) return c.redirect(`/sign-in?back=${encodeURIComponent(visit.here)}`);
    return orderPage(c, visit, c.req.param('id'));
  });
  app.post('/orders/:id/cancel', async (c) => {
    const visit = await visitOf(c, storefront);
    const id = c.req.param('id');
    const cancelled = await visit.api.cancelOrder(id);
    if (cancelled.ok) return seeOther(c, `/orders/${encodeURIComponent(id)}`);
    return orderPage(c, visit, id, problemMessage(visit, cancelled.problem));
  });
}

async function ordersPage(c: Context, visit: Visit): Promise<Response> {
  const { t, money, dateTime } = visit.locale;
  const page = pageNumber(c);
  const answer = await visit.api.orders(page);
  if (!answer.ok) return render(c, visit, t.myOrders, <><h1>{t.myOrders}</h1><Notice kind="error">{problemMessage(visit, answer.problem)}</Notice></>, pageStatusOf(answer.problem.status));
  const orders = answer.data.items;
  return render(
    c,
    visit,
    t.myOrders,
    <>
      <h1>{t.myOrders}</h1>
      {orders.length === 0 ? (
        <p class="empty">{t.noOrders}</p>
      ) : (
        <ul class="orders">
          {orders.map((order) => (
            <li>
              <a href={`/orders/${order.id}`}>
                {t.order} {order.id.slice(0, 8)}: {order.items.map((item) => item.title).join(', ')}
              </a>
              <span class={`badge ${order.status}`}>{t.statuses[order.status] ?? order.status}</span>
              <span>{money(order.totalCents, order.currency)}</span>
              <time datetime={order.createdAt}>{dateTime(order.createdAt)}</time>
            </li>
          ))}
        </ul>
      )}
      <Pager visit={visit} path="/orders" page={page} total={answer.data.total} limit={answer.data.limit} />
    </>,
  );
}

async function orderPage(c: Context, visit: Visit, id: string, message?: string): Promise<Response> {
  const { t } = visit.locale;
  const answer = await visit.api.order(id);
  if (!answer.ok) {
    const text = answer.problem.status === 404 ? t.notFound : problemMessage(visit, answer.problem);
    return render(c, visit, t.order, <><h1>{t.order}</h1><Notice kind="error">{text}</Notice><p><a href="/orders">{t.myOrders}</a></p></>, pageStatusOf(answer.problem.status));
  }
  const order = answer.data.order;
  const title = `${t.order} ${order.id.slice(0, 8)}`;
  return render(
    c,
    visit,
    title,
    <>
      <h1>{title}</h1>
      {message ? <Notice kind="error">{message}</Notice> : null}
      <OrderStatus visit={visit} order={order} />
      <Timeline visit={visit} order={order} />
      <OrderDetails visit={visit} order={order} />
    </>,
  );
}

function OrderStatus({ visit, order }: { visit: Visit; order: Order }) {
  const { t } = visit.locale;
  const reached = PROGRESS.indexOf(order.status);
  const firstItem = order.items[0];
  return (
    <section aria-labelledby="status-heading" class="panel">
      <h2 id="status-heading">{t.status}</h2>
      <p class="status-line">
        <strong id="order-status" class={`badge ${order.status}`} aria-live="polite">
          {t.statuses[order.status] ?? order.status}
        </strong>
      </p>
      <ol class="progress" aria-hidden="true" data-progress>
        {PROGRESS.map((status, index) => (
          <li data-step={status} class={reached >= index ? 'done' : undefined}>
            {t.statuses[status]}
          </li>
        ))}
      </ol>
      <p class="hint" data-live-note={t.liveUpdates}>
        {t.reloadForUpdates}
      </p>
      {/* Shown by the script too, when the stream reports a failed payment on an open page. */}
      {['pending_payment', 'payment_failed'].includes(order.status) && firstItem ? (
        <div hidden={order.status !== 'payment_failed'} data-when="payment_failed">
          <Notice kind="error">
          {t.paymentFailedHelp}{' '}
          <a href={`/checkout?book=${firstItem.bookId}&quantity=${firstItem.quantity}&provider=${encodeURIComponent(order.deliveryProvider.id)}`}>{t.tryAgain}</a>
          </Notice>
        </div>
      ) : null}
      {CANCELLABLE.includes(order.status) ? (
        <form method="post" action={`/orders/${order.id}/cancel`} data-cancel>
          <button type="submit">{t.cancelOrder}</button>
        </form>
      ) : null}
    </section>
  );
}

/** The order's history; the script appends what the event stream reports and moves the status above. */
function Timeline({ visit, order }: { visit: Visit; order: Order }) {
  const { t, dateTime } = visit.locale;
  return (
    <section aria-labelledby="timeline-heading" class="panel">
      <h2 id="timeline-heading">{t.timeline}</h2>
      <ol
        id="timeline"
        aria-label={t.timeline}
        class="timeline"
        data-events={`/api/purchase/orders/${order.id}/events`}
        data-seen={String(order.events.length)}
        data-labels={JSON.stringify(t.statuses)}
        data-locale={visit.locale.language === 'es' ? 'es-CO' : 'en-US'}
      >
        {order.events.map((event) => (
          <li data-status={event.status}>
            <span class="what">{t.statuses[event.status] ?? event.status}</span> <time datetime={event.at}>{dateTime(event.at)}</time>
            {event.detail ? <span class="detail"> — {event.detail}</span> : null}
          </li>
        ))}
      </ol>
    </section>
  );
}

/** "Visa •••• 4242", "PayPal", "Bank transfer", in the visitor's words. */
function paymentOf(visit: Visit, order: Order): string {
  const { t } = visit.locale;
  const { method, brand, last4 } = order.payment;
  if (last4) return `${brand ? brand.charAt(0).toUpperCase() + brand.slice(1) : t.card} •••• ${last4}`;
  return method === 'paypal' ? t.paypal : method === 'bank_transfer' ? t.bankTransfer : method;
}

function OrderDetails({ visit, order }: { visit: Visit; order: Order }) {
  const { t, money } = visit.locale;
  const address = order.shippingAddress;
  return (
    <section aria-labelledby="items-heading" class="panel">
      <h2 id="items-heading">{t.items}</h2>
      <ul>
        {order.items.map((item) => (
          <li>
            <a href={`/books/${item.bookId}`}>{item.title}</a> × {item.quantity} — {money(item.unitPriceCents * item.quantity, order.currency)}
          </li>
        ))}
      </ul>
      <dl class="summary">
        <dt>{t.subtotal}</dt>
        <dd>{money(order.subtotalCents, order.currency)}</dd>
        <dt>
          {t.deliveryCost} ({order.deliveryProvider.name})
        </dt>
        <dd>{money(order.deliveryCostCents, order.currency)}</dd>
        <dt>{t.total}</dt>
        <dd>
          <strong>{money(order.totalCents, order.currency)}</strong>
        </dd>
        <dt>{t.payment}</dt>
        <dd>{paymentOf(visit, order)}</dd>
        {order.trackingNumber ? (
          <>
            <dt>{t.tracking}</dt>
            <dd>{order.trackingNumber}</dd>
          </>
        ) : null}
        <dt>{t.shippingAddress}</dt>
        <dd>{[address.name, address.line1, address.line2, address.city, address.postalCode, address.country].filter(Boolean).join(', ')}</dd>
      </dl>
    </section>
  );
}
