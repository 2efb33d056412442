import { resolver } from 'hono-openapi';
import * as v from 'valibot';

/** The problem document every error response carries (RFC 9457). */
export const ProblemSchema = v.object({
  type: v.string(),
  title: v.string(),
  status: v.number(),
  detail: v.string(),
  code: v.string(),
  errors: v.optional(v.array(v.object({ path: v.string(), message: v.string() }))),
});

export function jsonContent(schema: v.GenericSchema, description: string) {
  return { description, content: { 'application/json': { schema: resolver(schema) } } };
}

export function problemContent(description: string) {
  return { description, content: { 'application/problem+json': { schema: resolver(ProblemSchema) } } };
}

export const signedInSecurity: Record<string, string[]>[] = [{ bearer: [] }, { cookie: [] }];

export const pageOf = (item: v.GenericSchema) =>
  v.object({ items: v.array(item), page: v.number(), limit: v.number(), total: v.number() });
