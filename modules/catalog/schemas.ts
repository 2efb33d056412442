import * as v from 'valibot';
import { pageQuery, plainText, queryBoolean } from '../../kernel/validation.js';
import { MAX_SEARCH_WORDS, searchWords } from './words.js';

const ONLY_DOCUMENTED_FIELDS = 'unknown field; only the documented fields are accepted';
const MAX_CENTS = 100_000_000;

const title = v.pipe(v.string('must be a string'), plainText(), v.trim(), v.minLength(1, 'must be 1-300 characters'), v.maxLength(300, 'must be 1-300 characters'));
const author = v.pipe(v.string('must be a string'), plainText(), v.trim(), v.minLength(1, 'must be 1-200 characters'), v.maxLength(200, 'must be 1-200 characters'));
const description = v.pipe(v.string('must be a string'), plainText({ multiline: true }), v.maxLength(5000, 'must be at most 5000 characters'));
const isbn = v.pipe(
  v.string('must be a string'),
  plainText(),
  v.trim(),
  v.regex(/^(97[89][- ]?)?\d{1,5}[- ]?\d{1,7}[- ]?\d{1,7}[- ]?[\dX]$/i, 'must be an ISBN-10 or ISBN-13'),
  v.maxLength(17, 'must be an ISBN-10 or ISBN-13'),
);
const priceCents = v.pipe(
  v.number('must be a number'),
  v.integer('must be a whole number of cents'),
  v.minValue(1, 'must be at least 1'),
  v.maxValue(MAX_CENTS, `must be at most ${MAX_CENTS}`),
);
const stock = v.pipe(v.number('must be a number'), v.integer('must be a whole number'), v.minValue(0, 'must be 0 or more'), v.maxValue(1_000_000, 'must be at most 1000000'));

export const CreateBookBody = v.strictObject(
  { title, author, description: v.optional(description), isbn: v.optional(isbn), priceCents, stock },
  ONLY_DOCUMENTED_FIELDS,
);
export type CreateBookInput = v.InferOutput<typeof CreateBookBody>;

const CHANGEABLE = 'title, author, description, isbn, priceCents or stock';

/**
 * A JSON object naming at least one field: an empty patch is a client's mistake, not a change. An
 * array passes valibot's object check with no keys, so `[]` is caught by the same rule as `{}`.
 */
export const UpdateBookBody = v.pipe(
  v.strictObject(
    {
      title: v.optional(title),
      author: v.optional(author),
      description: v.optional(description),
      isbn: v.optional(v.nullable(isbn)),
      priceCents: v.optional(priceCents),
      stock: v.optional(stock),
    },
    (issue) => (issue.expected === 'never' ? ONLY_DOCUMENTED_FIELDS : `must be a JSON object with the fields to change: ${CHANGEABLE}`),
  ),
  v.minEntries(1, `must name at least one field to change: ${CHANGEABLE}`),
);
export type UpdateBookInput = v.InferOutput<typeof UpdateBookBody>;

export const SORTS = ['newest', 'price_asc', 'price_desc', 'title'] as const;
export type Sort = (typeof SORTS)[number];

const centsQuery = v.optional(
  v.pipe(v.string(), v.regex(/^\d{1,9}$/, 'must be a whole number of cents'), v.transform(Number)),
);

export const BookListQuery = v.object({
  q: v.optional(
    v.pipe(
      v.string(),
      plainText(),
      v.trim(),
      v.maxLength(200, 'must be at most 200 characters'),
      v.check((q) => searchWords(q).length <= MAX_SEARCH_WORDS, `must have at most ${MAX_SEARCH_WORDS} words`),
    ),
  ),
  author: v.optional(v.pipe(v.string(), plainText(), v.trim(), v.maxLength(200, 'must be at most 200 characters'))),
  minPriceCents: centsQuery,
  maxPriceCents: centsQuery,
  inStock: queryBoolean,
  sort: v.optional(v.picklist(SORTS, `must be one of ${SORTS.join(', ')}`), 'newest'),
  ...pageQuery,
});
export type BookListQuery = v.InferOutput<typeof BookListQuery>;

export const MyBooksQuery = v.object(pageQuery);

export const BookSchema = v.object({
  id: v.number(),
  title: v.string(),
  author: v.string(),
  description: v.string(),
  isbn: v.nullable(v.string()),
  priceCents: v.number(),
  currency: v.string(),
  stock: v.number(),
  sellerId: v.number(),
  createdAt: v.string(),
  updatedAt: v.string(),
});
export type BookView = v.InferOutput<typeof BookSchema>;
