import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * The stable machine-readable words of the error contract that are the kernel's own: any module may
 * answer with them. Each module declares its own besides (`problems` in kernel/module.ts); the API
 * reference lists them all.
 */
export const KERNEL_PROBLEM_CODES = [
  'validation_failed',
  'malformed_json',
  'unauthorized',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'rate_limited',
  'precondition_failed',
  // 409: the resource is in a state that does not allow this change (more than one module says it).
  'invalid_state',
  'payload_too_large',
  'service_unavailable',
  'internal',
] as const;

/** A kernel code, or one a module declares. */
export type ProblemCode = (typeof KERNEL_PROBLEM_CODES)[number] | (string & {});

export interface FieldError {
  path: string;
  message: string;
}

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ProblemCode;
  errors?: FieldError[];
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** An expected failure that becomes an RFC 9457 problem document. Throw it from anywhere in a request. */
export class Problem extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ProblemCode,
    readonly detail: string,
    readonly errors?: FieldError[],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }

  toDocument(): ProblemDocument {
    return {
      type: `https://bookstore.dev/problems/${this.code.replaceAll('_', '-')}`,
      title: TITLES[this.status] ?? 'Error',
      status: this.status,
      detail: this.detail,
      code: this.code,
      ...(this.errors ? { errors: this.errors } : {}),
    };
  }

  static fromDocument(doc: ProblemDocument): Problem {
    return new Problem(doc.status as ContentfulStatusCode, doc.code, doc.detail, doc.errors);
  }
}

export const notFound = (what = 'resource') => new Problem(404, 'not_found', `No such ${what}.`);
export const unauthorized = () => new Problem(401, 'unauthorized', 'Sign in to do this.');
export const forbidden = (detail = 'You may not do this.') => new Problem(403, 'forbidden', detail);

export function problemResponse(c: Context, problem: Problem): Response {
  for (const [name, value] of Object.entries(problem.headers)) c.header(name, value);
  return c.body(JSON.stringify(problem.toDocument()), problem.status, {
    'Content-Type': 'application/problem+json; charset=utf-8',
  });
}
