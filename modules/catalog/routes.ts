import { Hono, type Context } from 'hono';
import { describeRoute } from 'hono-openapi';
import * as v from 'valibot';
import { anonymousEtag, type AppEnv } from '../../kernel/app.js';
import { callerOf, signedIn } from '../../kernel/auth-context.js';
import type { ModuleContext } from '../../kernel/module.js';
import { jsonContent, pageOf, problemContent, signedInSecurity } from '../../kernel/openapi.js';
import { valid } from '../../kernel/validation.js';
import { BookListQuery, BookSchema, CreateBookBody, MyBooksQuery, UpdateBookBody } from './schemas.js';
import { type CachedAnswer, type CatalogChanges } from './read-cache.js';
import * as catalog from './service.js';

const BookEnvelope = v.object({ book: BookSchema });
const invalid = problemContent('Invalid request (validation_failed or malformed_json)');
const notSignedIn = problemContent('Not signed in (unauthorized)');
const noSuchBook = problemContent('No such book, whatever the shape of the id (not_found)');
const notTheSeller = problemContent('Only the book’s seller may do this (forbidden)');
const bookId = { name: 'id', in: 'path' as const, required: true, schema: { type: 'string' as const } };

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

export function catalogRoutes(_ctx: ModuleContext, changes: CatalogChanges): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { cache } = changes;

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

  app.get(
    '/books/:id',
    describeRoute({
      tags: ['catalog'],
      summary: 'One book',
      parameters: [bookId],
      responses: { 200: jsonContent(BookEnvelope, 'The book'), 304: { description: 'Not modified' }, 404: noSuchBook },
    }),
    anonymousEtag,
    async (c) => {
      const id = c.req.param('id');
      return sendCached(c, await cache.answer(readKey(c), async () => ({ book: await catalog.readBook(c.get('em'), id) })));
    },
  );

  app.post(
    '/books',
    describeRoute({
      tags: ['catalog'],
      summary: 'Sell a book; the caller becomes its seller',
      security: signedInSecurity,
      responses: { 201: jsonContent(BookEnvelope, 'The new listing'), 400: invalid, 401: notSignedIn, 403: problemContent('Cookie request from another origin (forbidden)') },
    }),
    signedIn,
    valid('json', CreateBookBody),
    async (c) => {
      const book = await catalog.createBook(c.var.em, callerOf(c).id, c.req.valid('json'));
      await changes.announce('listing');
      return c.json({ book: catalog.bookView(book) }, 201);
    },
  );

  app.patch(
    '/books/:id',
    describeRoute({
      tags: ['catalog'],
      summary: 'Change a listing (any subset of the create fields)',
      security: signedInSecurity,
      parameters: [bookId],
      responses: { 200: jsonContent(BookEnvelope, 'The changed listing'), 400: invalid, 401: notSignedIn, 403: notTheSeller, 404: noSuchBook },
    }),
    signedIn,
    valid('json', UpdateBookBody),
    async (c) => {
      const book = await catalog.updateBook(c.var.em, c.req.param('id'), callerOf(c).id, c.req.valid('json'));
      await changes.announce('listing');
      return c.json({ book: catalog.bookView(book) });
    },
  );

  app.delete(
    '/books/:id',
    describeRoute({
      tags: ['catalog'],
      summary: 'Take a listing out of the catalog',
      security: signedInSecurity,
      parameters: [bookId],
      responses: { 204: { description: 'Removed; orders keep their own snapshot' }, 401: notSignedIn, 403: notTheSeller, 404: noSuchBook },
    }),
    signedIn,
    async (c) => {
      await catalog.deleteBook(c.var.em, c.req.param('id'), callerOf(c).id);
      await changes.announce('listing');
      return c.body(null, 204);
    },
  );

  app.get(
    '/my-books',
    describeRoute({
      tags: ['catalog'],
      summary: 'The caller’s own listings, newest first',
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

  return app;
}
