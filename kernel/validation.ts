import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { MiddlewareHandler, ValidationTargets } from 'hono';
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

/** Requests that carry a body must say it is JSON, so that nothing is silently read as `{}`. */
export const requireJsonBody: MiddlewareHandler = createMiddleware(async (c, next) => {
  const length = c.req.header('content-length');
  const hasBody = length ? length !== '0' : c.req.header('transfer-encoding') !== undefined;
  if (['POST', 'PUT', 'PATCH'].includes(c.req.method) && hasBody && !JSON_TYPE.test(c.req.header('content-type') ?? '')) {
    throw new Problem(400, 'malformed_json', 'The request body must be JSON sent with Content-Type: application/json.');
  }
  await next();
});

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
