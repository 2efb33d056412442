import { Hono, type Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { describeRoute } from 'hono-openapi';
import * as v from 'valibot';
import { anonymousEtag, readValidators, type AppEnv } from '../../kernel/app.js';
import { callerOf, signedIn } from '../../kernel/auth-context.js';
import { jsonContent, pageOf, problemContent, signedInSecurity } from '../../kernel/openapi.js';
import { Problem, notFound } from '../../kernel/problem.js';
import { carriesBody, valid } from '../../kernel/validation.js';
import { BookListQuery, BookSchema, CreateBookBody, MyBooksQuery, UpdateBookBody } from './schemas.js';
import { type CachedAnswer, type CatalogChanges, type CatalogReadCache } from './read-cache.js';
import * as catalog from './service.js';
import { bookEtag, ifMatch } from './versions.js';

const BookEnvelope = v.object({ book: BookSchema });
const invalid = problemContent('Invalid request (validation_failed or malformed_json)');
const notSignedIn = problemContent('Not signed in (unauthorized)');
const noSuchBook = problemContent('No such book, whatever the shape of the id (not_found)');
const notTheSeller = problemContent('Only the book’s seller may do this (forbidden)');
const bookId = { name: 'id', in: 'path' as const, required: true, schema: { type: 'string' as const } };

/** A path id that cannot be a book's (not a whole number in range, a NUL…) is 404 before any query. */
const knownBookId = createMiddleware<AppEnv>(async (c, next) => {
  if (catalog.parseBookId(c.req.param('id') ?? '') === undefined) throw notFound('book');
  await next();
});
const ifMatchHeader = {
  name: 'If-Match',
  in: 'header' as const,
  required: false,
  schema: { type: 'string' as const },
  description:
    'The book’s ETag as last read (`"v7"`), a list of them, or `*`. Send it when editing stock: if the book changed since (an order took a copy), the answer is 412 and nothing is written.',
};
const stale = problemContent('The book changed since the ETag in If-Match (precondition_failed); read it again');
const etagHeader = { ETag: { description: 'The book’s version, `"v<n>"`: a strong validator for If-Match', schema: { type: 'string' as const } } };
const withEtag = (response: ReturnType<typeof jsonContent>) => ({ ...response, headers: etagHeader });

/** Books are the same for everyone, so signed-in sellers get the ETag they send back in If-Match. */
const bookValidators = readValidators(true);

/** Without a body the validator would see `{}`: say what is missing rather than judge nothing. */
const bodyRequired = createMiddleware<AppEnv>(async (c, next) => {
  if (!carriesBody(c)) throw new Problem(400, 'malformed_json', 'This request needs a JSON body: an object with the fields to change.');
  await next();
});

/** Sends an answer kept by the read cache as it is: no serialising, and its ETag already known. */
function sendCached(c: Context<AppEnv>, answer: CachedAnswer) {
  return c.body(answer.body, 200, { 'Content-Type': 'application/json; charset=utf-8', ETag: answer.etag });
}

/**
 * Answers are kept by the request's path and query as sent: a known one is answered before its
 * query is even validated (only queries that passed validation are ever kept). Two spellings of
 * one query are two entries, which the cache's memory bound takes care of.
 */
function readKey(c: Context<AppEnv>): string {
  const url = c.req.url;
  return url.slice(url.indexOf('/', url.indexOf('//') + 2));
}

/** The catalog's public routes, one named step per route, in the order they are matched. */
export function catalogRoutes(changes: CatalogChanges): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  browseBooks(app, changes.cache);
  readBook(app, changes.cache);
  sellBook(app, changes);
  changeListing(app, changes);
  removeListing(app, changes);
  listMyBooks(app, changes.cache);
  return app;
}

/** `GET /books`: a page of the catalog, filtered and sorted, answered from the read cache when it can. */
function browseBooks(app: Hono<AppEnv>, cache: CatalogReadCache): void {
  app.get(
    '/books',
    describeRoute({
      tags: ['catalog'],
      summary: 'Browse and search the catalog',
      description:
        '`q` matches words or word prefixes of title and author, ignoring case and accents; every word (at most 8) must match. Anonymous answers carry an ETag and honour If-None-Match with 304.',
      responses: { 200: jsonContent(pageOf(BookSchema), 'A page of books and the total count'), 304: { description: 'Not modified' }, 400: invalid },
    }),
    anonymousEtag,
    async (c, next) => {
      const known = cache.peek(readKey(c));
      return known ? sendCached(c, known) : next();
    },
    valid('query', BookListQuery),
    async (c) => {
      const query = c.req.valid('query');
      return sendCached(c, await cache.answer(readKey(c), () => catalog.listBooks(c.get('em'), cache, query)));
    },
  );
}

/** `GET /books/{id}`: one book with its ETag, kept by the read cache together with that ETag. */
function readBook(app: Hono<AppEnv>, cache: CatalogReadCache): void {
  app.get(
    '/books/:id',
    describeRoute({
      tags: ['catalog'],
      summary: 'One book',
      description: 'Carries the book’s ETag, signed in or not, and honours If-None-Match with 304.',
      parameters: [bookId],
      responses: { 200: withEtag(jsonContent(BookEnvelope, 'The book')), 304: { description: 'Not modified' }, 404: noSuchBook },
    }),
    knownBookId,
    bookValidators,
    async (c) => {
      const id = c.req.param('id');
      const answer = await cache.tagged(readKey(c), async () => {
        const { book, version } = await catalog.readBook(c.get('em'), id);
        return { value: { book }, etag: bookEtag(version) };
      });
      return sendCached(c, answer);
    },
  );
}

/** `POST /books`: the caller lists a book for sale and becomes its seller. */
function sellBook(app: Hono<AppEnv>, changes: CatalogChanges): void {
  app.post(
    '/books',
    describeRoute({
      tags: ['catalog'],
      summary: 'Sell a book; the caller becomes its seller',
      security: signedInSecurity,
      responses: { 201: withEtag(jsonContent(BookEnvelope, 'The new listing')), 400: invalid, 401: notSignedIn, 403: problemContent('Cookie request from another origin (forbidden)') },
    }),
    signedIn,
    valid('json', CreateBookBody),
    async (c) => {
      const book = await catalog.createBook(c.var.em, callerOf(c).id, c.req.valid('json'));
      await changes.announce('listing');
      return c.json({ book: catalog.bookView(book) }, 201, { ETag: bookEtag(book.version) });
    },
  );
}

/** `PATCH /books/{id}`: the seller changes a listing, judged against If-Match. */
function changeListing(app: Hono<AppEnv>, changes: CatalogChanges): void {
  app.patch(
    '/books/:id',
    describeRoute({
      tags: ['catalog'],
      summary: 'Change a listing (a JSON object with at least one of the create fields)',
      description: 'Send If-Match with the ETag read before, above all when changing stock: orders take copies meanwhile, and a stale ETag answers 412 instead of overwriting them.',
      security: signedInSecurity,
      parameters: [bookId, ifMatchHeader],
      responses: {
        200: withEtag(jsonContent(BookEnvelope, 'The changed listing')),
        400: problemContent('Invalid request: no body (malformed_json), not an object naming at least one known field, or a malformed If-Match (validation_failed)'),
        401: notSignedIn,
        403: notTheSeller,
        404: noSuchBook,
        412: stale,
      },
    }),
    signedIn,
    knownBookId,
    bodyRequired,
    valid('json', UpdateBookBody),
    async (c) => {
      const precondition = ifMatch(c.req.header('if-match'));
      const saved = await catalog.updateBook(c.var.em, c.req.param('id'), callerOf(c).id, c.req.valid('json'), precondition);
      await changes.announce('listing');
      return c.json({ book: saved.book }, 200, { ETag: bookEtag(saved.version) });
    },
  );
}

/** `DELETE /books/{id}`: the seller takes a listing out of the catalog, judged against If-Match. */
function removeListing(app: Hono<AppEnv>, changes: CatalogChanges): void {
  app.delete(
    '/books/:id',
    describeRoute({
      tags: ['catalog'],
      summary: 'Take a listing out of the catalog',
      security: signedInSecurity,
      parameters: [bookId, ifMatchHeader],
      responses: {
        204: { description: 'Removed; orders keep their own snapshot' },
        400: problemContent('Malformed If-Match (validation_failed)'),
        401: notSignedIn,
        403: notTheSeller,
        404: noSuchBook,
        412: stale,
      },
    }),
    signedIn,
    knownBookId,
    async (c) => {
      const precondition = ifMatch(c.req.header('if-match'));
      await catalog.deleteBook(c.var.em, c.req.param('id'), callerOf(c).id, precondition);
      await changes.announce('listing');
      return c.body(null, 204);
    },
  );
}

/** `GET /my-books`: the caller's own listings, newest first. */
function listMyBooks(app: Hono<AppEnv>, cache: CatalogReadCache): void {
  app.get(
    '/my-books',
    describeRoute({
      tags: ['catalog'],
      summary: 'The caller’s own listings, newest first',
      description: 'Items carry no ETag: to edit one with If-Match, GET /books/{id} first.',
      security: signedInSecurity,
      responses: { 200: jsonContent(pageOf(BookSchema), 'A page of the caller’s books'), 400: invalid, 401: notSignedIn },
    }),
    signedIn,
    valid('query', MyBooksQuery),
    async (c) => {
      const { page, limit } = c.req.valid('query');
      return c.json(await catalog.listBooks(c.var.em, cache, { sort: 'newest', page, limit, sellerId: callerOf(c).id }));
    },
  );
}
