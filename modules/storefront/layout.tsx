import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import type { ProblemDocument } from './api.js';
import type { Visit } from './visit.js';

/** The frame of every page: header with the main navigation and the language switch, one main, a footer. */
export function Layout(props: { visit: Visit; title: string; children: Child }) {
  const { visit, title } = props;
  const { t, language } = visit.locale;
  return (
    <html lang={language}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · ${t.storeName}`}</title>
        {/* No icon, and no request for /favicon.ico (a 404 in every browser's console). */}
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href={visit.assets.stylesheet.path} />
        <script type="module" src={visit.assets.script.path}></script>
      </head>
      <body>
        <a class="skip" href="#main">{t.skipToContent}</a>
        <header class="site">
          <a class="brand" href="/">{t.storeName}</a>
          <MainNav visit={visit} />
          <LanguageSwitch visit={visit} />
        </header>
        <main id="main" tabindex={-1}>
          {props.children}
        </main>
        <footer class="site">
          <a href="/api/docs">API</a>
        </footer>
      </body>
    </html>
  );
}

function MainNav({ visit }: { visit: Visit }) {
  const { t } = visit.locale;
  const current = (path: string) => (visit.here.split('?')[0] === path ? 'page' : undefined);
  const link = (path: string, text: string) => (
    <li>
      <a href={path} aria-current={current(path)}>
        {text}
      </a>
    </li>
  );
  return (
    <nav aria-label={t.mainNav}>
      <ul>
        {link('/', t.catalog)}
        {visit.user ? (
          <>
            {link('/orders', t.myOrders)}
            {link('/sell', t.sell)}
            {link('/sales', t.mySales)}
            {visit.user.role === 'admin' ? link('/admin', t.admin) : null}
            <li>
              <form method="post" action="/sign-out" class="inline">
                <button type="submit" class="link">
                  {t.signOut}
                </button>
              </form>
            </li>
          </>
        ) : (
          <>
            {link('/sign-in', t.signIn)}
            {link('/register', t.register)}
          </>
        )}
      </ul>
    </nav>
  );
}

function LanguageSwitch({ visit }: { visit: Visit }) {
  const back = encodeURIComponent(visit.here);
  const choice = (language: 'en' | 'es', name: string) => (
    <li>
      <a href={`/language/${language}?back=${back}`} lang={language} hreflang={language} aria-current={visit.locale.language === language ? 'true' : undefined}>
        {name}
      </a>
    </li>
  );
  return (
    <nav aria-label={visit.locale.t.language} class="languages">
      <ul>
        {choice('en', 'English')}
        {choice('es', 'Español')}
      </ul>
    </nav>
  );
}

/** The messages of a refusal, by form field: the API's `errors[].path`, last segment (`shippingAddress.city` → `city`). */
export type FieldErrors = Record<string, string>;

export function fieldErrors(problem: ProblemDocument | undefined, rename: Record<string, string> = {}): FieldErrors {
  const errors: FieldErrors = {};
  for (const error of problem?.errors ?? []) {
    const path = error.path.replace(/^(body|query)\./, '');
    const field = rename[path] ?? path.split('.').at(-1) ?? path;
    errors[field] ??= error.message;
  }
  return errors;
}

interface FieldProps {
  name: string;
  label: string;
  errors?: FieldErrors;
  value?: string | number | undefined;
  type?: string;
  hint?: string;
  required?: boolean;
  autocomplete?: string;
  inputmode?: 'decimal' | 'numeric' | 'email' | 'text';
  min?: number;
  max?: number;
  step?: string;
  multiline?: boolean;
}

/** A labelled input with its hint and its error, both tied to it for screen readers. */
export function Field(props: FieldProps) {
  const id = `field-${props.name}`;
  const error = props.errors?.[props.name];
  const described = [props.hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  const common = { id, name: props.name, required: props.required, 'aria-invalid': error ? 'true' : undefined, 'aria-describedby': described };
  return (
    <div class={error ? 'field invalid' : 'field'}>
      <label for={id}>{props.label}</label>
      {props.hint ? (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      ) : null}
      {props.multiline ? (
        <textarea {...common} rows={5}>
          {props.value ?? ''}
        </textarea>
      ) : (
        <input
          {...common}
          type={props.type ?? 'text'}
          value={props.value === undefined ? undefined : String(props.value)}
          autocomplete={props.autocomplete}
          inputmode={props.inputmode}
          min={props.min}
          max={props.max}
          step={props.step}
        />
      )}
      {error ? (
        <p class="error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

/** A message at the top of a form or page; alerts are announced as they appear. */
export function Notice(props: { kind: 'error' | 'success' | 'info'; children: Child }) {
  return (
    <div class={`notice ${props.kind}`} role={props.kind === 'error' ? 'alert' : 'status'}>
      {props.children}
    </div>
  );
}

/** What to tell the visitor about a refusal that no field explains. */
export function problemMessage(visit: Visit, problem: ProblemDocument): string {
  const { t } = visit.locale;
  if (problem.code === 'rate_limited') return t.tooManyAttempts(problem.retryAfter ?? 60);
  if (problem.code === 'service_unavailable') return t.unavailable;
  if (problem.status >= 500) return t.somethingWrong;
  if (problem.errors?.length) return t.fixErrors;
  return problem.detail || t.somethingWrong;
}

/** `?page=N` of a listing: a whole number from 1, else the first page. */
export function pageNumber(c: Context): number {
  const page = Number(c.req.query('page'));
  return Number.isInteger(page) && page >= 1 ? page : 1;
}

/** Previous / next links of a listing whose only state is `?page`; nothing when it fits in one page. */
export function Pager(props: { visit: Visit; path: string; page: number; total: number; limit: number }) {
  const { t } = props.visit.locale;
  const pages = Math.max(1, Math.ceil(props.total / props.limit));
  if (pages <= 1 && props.page <= 1) return null;
  const { path, page } = props;
  return (
    <nav aria-label={t.pagination} class="pagination">
      {page > 1 ? <a href={`${path}?page=${page - 1}`} rel="prev">{t.previous}</a> : null}
      <span>{t.pageOf(page, pages)}</span>
      {page < pages ? <a href={`${path}?page=${page + 1}`} rel="next">{t.next}</a> : null}
    </nav>
  );
}
