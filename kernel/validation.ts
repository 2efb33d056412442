import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { Context, MiddlewareHandler, ValidationTargets } from 'hono';
import { createMiddleware } from 'hono/factory';
import { validator } from 'hono-openapi';
import * as v from 'valibot';
import { Problem, type FieldError } from './problem.js';

function fieldErrors(issues: readonly StandardSchemaV1.Issue[]): FieldError[] {
  return issues.map((issue) => ({
    path: (issue.path ?? []).map((segment) => String(typeof segment === 'object' ? segment.key : segment)).join('.') || '(body)',
    message: issue.message,
  }));
}

/**
 * Validates one part of the request against a valibot schema; failures become `400 validation_failed`
 * with one entry per field. The schema also documents the route in the OpenAPI document.
 */
export function valid<Schema extends StandardSchemaV1, Target extends keyof ValidationTargets>(target: Target, schema: Schema) {
  return validator(target, schema, (result) => {
    if (result.success) return;
    throw new Problem(400, 'validation_failed', `The request ${target === 'json' ? 'body' : target} is invalid.`, fieldErrors(result.error));
  });
}

const JSON_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;

/** Whether the request comes with a body, as its headers announce it (before anything reads it). */
export function carriesBody(c: Context): boolean {
  const length = c.req.header('content-length');
  return length ? length !== '0' : c.req.header('transfer-encoding') !== undefined;
}

/** Requests that carry a body must say it is JSON, so that nothing is silently read as `{}`. */
export const requireJsonBody: MiddlewareHandler = createMiddleware(async (c, next) => {
  if (['POST', 'PUT', 'PATCH'].includes(c.req.method) && carriesBody(c) && !JSON_TYPE.test(c.req.header('content-type') ?? '')) {
    throw new Problem(400, 'malformed_json', 'The request body must be JSON sent with Content-Type: application/json.');
  }
  await next();
});

/** Control characters (Unicode Cc: C0, DEL, C1) in text that is one line: a name, a title, an email, a search. */
const ANY_CONTROL = /\p{Cc}/u;
/** The same in text of several lines, which may also hold tabs and line breaks (`\n` or `\r\n`). */
const CONTROL_BUT_LINES = /\r(?!\n)|(?![\t\n\r])\p{Cc}/u;
/**
 * A lone surrogate, which no storage keeps (it becomes U+FFFD). With the `u` flag a surrogate pair
 * is read as one code point, so this is `!isWellFormed()`, which the ES2023 lib does not declare.
 */
const LONE_SURROGATE = /\p{Surrogate}/u;
const NOT_WELL_FORMED = 'must be well-formed Unicode text';

/**
 * Text a person typed: well-formed Unicode, without control characters except, where `multiline`,
 * tabs and line breaks. Goes right after `v.string()` in every free-text field and query, so that
 * what the store answers is what it stored, and a NUL byte never reaches a driver or a log line.
 */
export function plainText({ multiline = false }: { multiline?: boolean } = {}) {
  const control = multiline ? CONTROL_BUT_LINES : ANY_CONTROL;
  const controlMessage = multiline ? 'must not contain control characters other than tabs and line breaks' : 'must not contain control characters';
  return v.rawCheck<string>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    if (LONE_SURROGATE.test(dataset.value)) addIssue({ message: NOT_WELL_FORMED });
    if (control.test(dataset.value)) addIssue({ message: controlMessage });
  });
}

/**
 * Well-formed Unicode, for text that may hold any character but must mean one thing: a password
 * with a lone surrogate would be hashed as U+FFFD, so two different passwords would be the same.
 */
export const wellFormed = () => v.check((text: string) => !LONE_SURROGATE.test(text), NOT_WELL_FORMED);

/** Query-string helpers: every value arrives as text. */
export const queryInt = (min: number, max: number, fallback: number) =>
  v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d{1,9}$/, `must be a whole number from ${min} to ${max}`),
      v.transform(Number),
      v.minValue(min, `must be a whole number from ${min} to ${max}`),
      v.maxValue(max, `must be a whole number from ${min} to ${max}`),
    ),
    String(fallback),
  );

export const queryBoolean = v.optional(
  v.pipe(
    v.string(),
    v.picklist(['true', 'false'], 'must be true or false'),
    v.transform((s) => s === 'true'),
  ),
);

export const pageQuery = {
  page: queryInt(1, 1_000_000, 1),
  limit: queryInt(1, 100, 20),
};
