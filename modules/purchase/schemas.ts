import * as v from 'valibot';
import { plainText } from '../../kernel/validation.js';
import { luhnValid } from './gateway.js';

const ONLY_DOCUMENTED_FIELDS = 'unknown field; only the documented fields are accepted';
const text = (min: number, max: number) =>
  v.pipe(v.string('must be a string'), plainText(), v.trim(), v.minLength(min, `must be ${min}-${max} characters`), v.maxLength(max, `must be ${min}-${max} characters`));

const digitsOnly = (s: string) => s.replace(/[\s-]/g, '');

const CardPayment = v.strictObject(
  {
    method: v.literal('card'),
    cardNumber: v.pipe(
      v.string('must be a string'),
      v.transform(digitsOnly),
      v.regex(/^\d{12,19}$/, 'must be 12-19 digits'),
      v.check(luhnValid, 'is not a valid card number (Luhn check)'),
    ),
    expMonth: v.pipe(v.number('must be a number'), v.integer('must be a whole number'), v.minValue(1, 'must be 1-12'), v.maxValue(12, 'must be 1-12')),
    expYear: v.pipe(v.number('must be a number'), v.integer('must be a whole number'), v.minValue(2000, 'must be a four-digit year'), v.maxValue(2100, 'must be a four-digit year')),
    cvc: v.pipe(v.string('must be a string'), v.regex(/^\d{3,4}$/, 'must be 3 or 4 digits')),
  },
  ONLY_DOCUMENTED_FIELDS,
);

const PaypalPayment = v.strictObject(
  { method: v.literal('paypal'), email: v.pipe(v.string('must be a string'), plainText(), v.trim(), v.email('must be an email address'), v.maxLength(254, 'must be at most 254 characters')) },
  ONLY_DOCUMENTED_FIELDS,
);

const BankTransferPayment = v.strictObject({ method: v.literal('bank_transfer') }, ONLY_DOCUMENTED_FIELDS);

const notExpired = (card: { expMonth: number; expYear: number }) => {
  const now = new Date();
  return card.expYear > now.getUTCFullYear() || (card.expYear === now.getUTCFullYear() && card.expMonth >= now.getUTCMonth() + 1);
};

export const PaymentInput = v.variant(
  'method',
  [CardPayment, PaypalPayment, BankTransferPayment],
  'method must be card, paypal or bank_transfer',
);
export type PaymentInput = v.InferOutput<typeof PaymentInput>;

export const ShippingAddressInput = v.strictObject(
  {
    name: text(1, 150),
    line1: text(1, 200),
    line2: v.optional(text(0, 200)),
    city: text(1, 100),
    postalCode: v.optional(text(0, 20)),
    country: text(2, 56),
  },
  ONLY_DOCUMENTED_FIELDS,
);

/** Book ids are echoed from the catalog; one of another shape simply matches no book (404). */
const BookIdInput = v.union([v.number(), v.string()], 'must be a book id from the catalog');

export const OrderRequest = v.pipe(
  v.strictObject(
    {
      items: v.pipe(
        v.array(
          v.strictObject(
            {
              bookId: BookIdInput,
              quantity: v.pipe(v.number('must be a number'), v.integer('must be a whole number'), v.minValue(1, 'must be 1-100'), v.maxValue(100, 'must be 1-100')),
            },
            ONLY_DOCUMENTED_FIELDS,
          ),
          'must be a list of {bookId, quantity}',
        ),
        v.minLength(1, 'must have 1-20 items'),
        v.maxLength(20, 'must have 1-20 items'),
        v.check((items) => new Set(items.map((i) => String(i.bookId))).size === items.length, 'must name each book once'),
      ),
      deliveryProviderId: text(1, 32),
      shippingAddress: ShippingAddressInput,
      payment: PaymentInput,
    },
    ONLY_DOCUMENTED_FIELDS,
  ),
  v.forward(
    v.check((order) => order.payment.method !== 'card' || notExpired(order.payment), 'the card has expired'),
    ['payment', 'expYear'],
  ),
);
export type OrderRequest = v.InferOutput<typeof OrderRequest>;

export const DeliveryProviderSchema = v.object({
  id: v.string(),
  name: v.string(),
  coverage: v.picklist(['international', 'national']),
  costCents: v.number(),
});

export const OrderSchema = v.object({
  id: v.string(),
  status: v.picklist(['pending_payment', 'paid', 'payment_failed', 'shipped', 'delivered', 'cancelled']),
  items: v.array(v.object({ bookId: v.number(), title: v.string(), unitPriceCents: v.number(), quantity: v.number(), sellerId: v.number() })),
  subtotalCents: v.number(),
  deliveryCostCents: v.number(),
  totalCents: v.number(),
  currency: v.string(),
  deliveryProvider: v.object({ id: v.string(), name: v.string() }),
  shippingAddress: v.object({
    name: v.string(),
    line1: v.string(),
    line2: v.optional(v.string()),
    city: v.string(),
    postalCode: v.optional(v.string()),
    country: v.string(),
  }),
  payment: v.object({
    method: v.picklist(['card', 'paypal', 'bank_transfer']),
    status: v.picklist(['pending', 'captured', 'declined', 'failed', 'refunded', 'voided']),
    brand: v.optional(v.string()),
    last4: v.optional(v.string()),
  }),
  trackingNumber: v.optional(v.string()),
  events: v.array(v.object({ status: v.string(), at: v.string(), detail: v.optional(v.string()) })),
  createdAt: v.string(),
  updatedAt: v.string(),
});
export type OrderView = v.InferOutput<typeof OrderSchema>;

export const SaleSchema = v.object({
  orderId: v.string(),
  orderStatus: v.string(),
  bookId: v.number(),
  title: v.string(),
  unitPriceCents: v.number(),
  quantity: v.number(),
  currency: v.string(),
  orderedAt: v.string(),
});
