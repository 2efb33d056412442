/**
 * docs/api.md is the public contract; the running store serves the same API as an OpenAPI document
 * at /api/docs/openapi.json. This keeps the two in agreement: every route (method and path) and
 * every problem code of one is in the other. On the embedded default (SQLite, no Redis), so it
 * needs no other service.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStoreOn, type BackendStore } from './harness.js';

const CONTRACT_FILE = 'docs/api.md';
const CONTRACT = new URL('../docs/api.md', import.meta.url);

const METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'] as const;
/** A problem code: a lower-case word, or words joined by `_` (`validation_failed`). */
const CODE = '[a-z]+(?:_[a-z]+)*';

interface ApiSurface {
  /** `METHOD /api/…/path`, path parameters as `{name}`. */
  routes: Set<string>;
  codes: Set<string>;
}

interface DocumentedApi extends ApiSurface {
  /** Things in docs/api.md that do not read as the contract's own conventions say. */
  problems: string[];
}

/**
 * The contract as docs/api.md writes it:
 * - routes are the rows of each module's table, under a `##` heading that names the module's
 *   prefix (`## Auth — \`/api/auth\``), whose first cell starts with `` `METHOD /path?query` `` ;
 * - problem codes are the list after "`code` is a stable machine-readable word:" in Conventions,
 *   and every `` `status code` `` the page mentions (`409 email_taken`) must be one of them.
 */
function documentedApi(markdown: string): DocumentedApi {
  const routes = new Set<string>();
  const problems: string[] = [];
  let prefix: string | undefined;
  for (const [index, line] of markdown.split('\n').entries()) {
    if (/^##\s/.test(line)) prefix = /`(\/api\/[^`\s]+)`/.exec(line)?.[1];
    const row = /^\|\s*`([A-Z]+) (\/[^`?\s]*)[^`]*`/.exec(line);
    if (!row) continue;
    const method = row[1]!;
    const path = row[2]!;
    if (!METHODS.includes(method.toLowerCase() as (typeof METHODS)[number])) {
      problems.push(`line ${index + 1}: "${method}" is not an HTTP method`);
    } else if (!prefix) {
      problems.push(`line ${index + 1}: the route ${method} ${path} is in no module's section (a "## … \`/api/<module>\`" heading)`);
    } else {
      routes.add(`${method} ${prefix}${path}`);
    }
  }

  const listed = /`code` is a stable machine-readable word:([^.]*)\./.exec(markdown)?.[1];
  if (listed === undefined) problems.push('the list of problem codes after "`code` is a stable machine-readable word:" is missing');
  const codes = new Set([...(listed ?? '').matchAll(new RegExp(`\`(${CODE})\``, 'g'))].map((match) => match[1]!));
  for (const [mention, code] of markdown.matchAll(new RegExp(`\`[1-5]\\d\\d (${CODE})\``, 'g'))) {
    if (!codes.has(code!)) problems.push(`${mention} is on the page, but \`${code}\` is missing from its list of problem codes`);
  }
  return { routes, codes, problems };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function addStrings(values: Json | undefined, into: Set<string>): void {
  if (Array.isArray(values)) for (const value of values) if (typeof value === 'string') into.add(value);
}

/** Every `enum` of a property named `code`, wherever a schema in the document declares one inline. */
function enumsOfCode(node: Json, into: Set<string>): Set<string> {
  if (Array.isArray(node)) {
    for (const item of node) enumsOfCode(item, into);
  } else if (node !== null && typeof node === 'object') {
    addStrings((node.properties as { code?: { enum?: Json } } | undefined)?.code?.enum, into);
    for (const value of Object.values(node)) enumsOfCode(value, into);
  }
  return into;
}

interface OpenApiDocument {
  paths?: Record<string, Partial<Record<(typeof METHODS)[number], Json>>>;
  components?: { schemas?: { ProblemCode?: { enum?: Json } } };
}

/**
 * The API as the store serves it: the operations of its OpenAPI document, and the problem codes it
 * names: the `ProblemCode` schema (every code of the kernel and of each module, kernel/app.ts), and
 * any enum a problem schema puts on `code` inline.
 */
function servedApi(spec: Json): ApiSurface {
  const { paths = {}, components } = spec as OpenApiDocument;
  const routes = new Set<string>();
  for (const [path, item] of Object.entries(paths)) {
    for (const method of METHODS) if (item[method]) routes.add(`${method.toUpperCase()} ${path}`);
  }
  const codes = enumsOfCode(spec, new Set());
  addStrings(components?.schemas?.ProblemCode?.enum, codes);
  return { routes, codes };
}

/** What one side has and the other lacks, one line each, or nothing when they agree. */
function differences(documented: ApiSurface, served: ApiSurface): string[] {
  const missing = (what: string, from: Set<string>, to: Set<string>, where: string) =>
    [...from].filter((item) => !to.has(item)).sort().map((item) => `${what} ${item}: missing from ${where}`);
  return [
    ...missing('route', served.routes, documented.routes, CONTRACT_FILE),
    ...missing('route', documented.routes, served.routes, 'the served OpenAPI document'),
    ...missing('problem code', served.codes, documented.codes, CONTRACT_FILE),
    ...missing('problem code', documented.codes, served.codes, 'the served OpenAPI document'),
  ];
}

describe(`${CONTRACT_FILE} and the served OpenAPI document`, () => {
  let running: BackendStore;

  beforeAll(async () => {
    running = await startStoreOn('sqlite');
  });

  afterAll(async () => {
    await running?.close();
  });

  it('name the same routes and the same problem codes', async () => {
    const documented = documentedApi(readFileSync(CONTRACT, 'utf8'));
    const response = await running.request('GET', '/api/docs/openapi.json');
    expect(response.status).toBe(200);
    const served = servedApi(response.body);

    // A parser that reads nothing would agree with anything.
    expect(documented.routes.size, `no route rows read from ${CONTRACT_FILE}`).toBeGreaterThan(0);
    expect(documented.codes.size, `no problem codes read from ${CONTRACT_FILE}`).toBeGreaterThan(0);
    expect(served.routes.size, 'no operations in the served OpenAPI document').toBeGreaterThan(0);
    expect(served.codes.size, 'no problem codes (components.schemas.ProblemCode.enum) in the served OpenAPI document').toBeGreaterThan(0);

    const disagreements = [...documented.problems.map((problem) => `${CONTRACT_FILE}: ${problem}`), ...differences(documented, served)];
    expect(disagreements, `${CONTRACT_FILE} and /api/docs/openapi.json disagree:\n  ${disagreements.join('\n  ')}\n`).toEqual([]);
  });
});
