import { Problem } from '../../kernel/problem.js';

/**
 * A book's ETag. Strong: every change to the row moves its version, and one version of a book has
 * exactly one representation, the same bytes in every answer that carries it.
 */
export const bookEtag = (version: number) => `"v${version}"`;

/** What `If-Match` asks of the book's version as it is when the write happens. */
export interface Precondition {
  matches(version: number): boolean;
}

const ENTITY_TAG = String.raw`(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"`;
/** RFC 9110 §5.6.1: a list may hold empty elements, which recipients ignore. */
const TAG_LIST = new RegExp(String.raw`^[\s,]*${ENTITY_TAG}(?:\s*,[\s,]*${ENTITY_TAG})*[\s,]*$`);
const TAG = new RegExp(ENTITY_TAG, 'g');

export const preconditionFailed = () =>
  new Problem(412, 'precondition_failed', 'The book changed since the ETag in If-Match: read it again and decide with what it says now.');

const malformedIfMatch = () =>
  new Problem(400, 'validation_failed', 'The If-Match header is invalid.', [
    { path: 'If-Match', message: 'must be * or a comma-separated list of quoted entity tags, such as "v3"' },
  ]);

/**
 * `If-Match` (RFC 9110 §13.1.1): `*` matches any current book; a list matches if one of its tags
 * equals the book's ETag by strong comparison, so a weak tag (`W/"v3"`) never does. Undefined when
 * the header is absent; a header that is neither is refused rather than guessed at.
 */
export function ifMatch(header: string | undefined): Precondition | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value === '*') return { matches: () => true };
  if (!TAG_LIST.test(value)) throw malformedIfMatch();
  const strong = new Set((value.match(TAG) ?? []).filter((tag) => !tag.startsWith('W/')));
  return { matches: (version) => strong.has(bookEtag(version)) };
}
