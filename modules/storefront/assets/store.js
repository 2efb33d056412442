// The storefront's only script. Every page works without it; it adds the live order timeline,
// the checkout's running total, and a guard against posting a form twice.

const FINAL = ['delivered', 'cancelled', 'payment_failed'];
const PROGRESS = ['pending_payment', 'paid', 'shipped', 'delivered'];

/** The order page: follow the order's event stream and show each change as it happens. */
function followOrder(timeline) {
  const labels = JSON.parse(timeline.dataset.labels);
  const when = new Intl.DateTimeFormat(timeline.dataset.locale, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });
  const status = document.getElementById('order-status');
  let seen = Number(timeline.dataset.seen);
  const note = document.querySelector('[data-live-note]');
  if (note) note.textContent = note.dataset.liveNote;
  if (FINAL.includes(status.className.replace('badge ', ''))) return;

  const stream = new EventSource(timeline.dataset.events);
  stream.addEventListener('status', (message) => {
    const id = Number(message.lastEventId);
    const event = JSON.parse(message.data);
    if (id > seen) {
      seen = id;
      timeline.append(timelineEntry(event, labels, when));
      showStatus(status, event.status, labels);
    }
    if (FINAL.includes(event.status)) stream.close();
  });
}

function timelineEntry(event, labels, when) {
  const entry = document.createElement('li');
  entry.dataset.status = event.status;
  const what = document.createElement('span');
  what.className = 'what';
  what.textContent = labels[event.status] ?? event.status;
  const time = document.createElement('time');
  time.dateTime = event.at;
  time.textContent = `${when.format(new Date(event.at))} UTC`;
  entry.append(what, ' ', time);
  if (event.detail) {
    const detail = document.createElement('span');
    detail.className = 'detail';
    detail.textContent = ` — ${event.detail}`;
    entry.append(detail);
  }
  return entry;
}

function showStatus(element, status, labels) {
  element.textContent = labels[status] ?? status;
  element.className = `badge ${status}`;
  const reached = PROGRESS.indexOf(status);
  for (const step of document.querySelectorAll('[data-progress] [data-step]')) {
    step.classList.toggle('done', reached >= PROGRESS.indexOf(step.dataset.step));
  }
  for (const shown of document.querySelectorAll('[data-when]')) shown.hidden = shown.dataset.when !== status;
  if (!['pending_payment', 'paid'].includes(status)) document.querySelector('[data-cancel]')?.remove();
}

/** Checkout: the total follows the quantity and carrier, and only the chosen payment method's fields show. */
function enhanceCheckout(form) {
  const summary = form.querySelector('.summary');
  const price = Number(summary.dataset.price);
  const money = new Intl.NumberFormat(summary.dataset.locale === 'es' ? 'es-CO' : 'en-US', { style: 'currency', currency: summary.dataset.currency });
  const update = () => {
    const quantity = Math.max(1, Number(form.elements.quantity.value) || 1);
    const carrier = form.querySelector('input[name="provider"]:checked');
    const delivery = carrier ? Number(carrier.dataset.cost) : 0;
    summary.querySelector('[data-subtotal]').textContent = money.format((price * quantity) / 100);
    summary.querySelector('[data-delivery]').textContent = money.format(delivery / 100);
    summary.querySelector('[data-total] strong').textContent = money.format((price * quantity + delivery) / 100);
  };
  const showMethod = () => {
    const method = form.querySelector('input[name="method"]:checked')?.value;
    for (const fields of form.querySelectorAll('[data-method]')) fields.hidden = fields.dataset.method !== method;
  };
  form.addEventListener('input', () => {
    update();
    showMethod();
  });
  showMethod();
}

/** A second submit of the same form while the first is on its way is dropped (the server would answer the same order anyway). */
function submitOnce(form) {
  let sent = false;
  form.addEventListener('submit', (event) => {
    if (event.submitter?.value === 'update') return;
    if (sent) event.preventDefault();
    sent = true;
  });
}

const timeline = document.querySelector('#timeline[data-events]');
if (timeline) followOrder(timeline);
const checkout = document.querySelector('form[data-checkout]');
if (checkout) {
  enhanceCheckout(checkout);
  submitOnce(checkout);
}
