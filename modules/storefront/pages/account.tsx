import type { Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { SESSION_COOKIE } from '../../../kernel/auth-context.js';
import type { AppEnv } from '../../../kernel/app.js';
import type { Answer } from '../api.js';
import { Field, Notice, fieldErrors, problemMessage, type FieldErrors } from '../layout.js';
import { pageStatusOf, render, seeOther } from '../render.js';
import { localPath, visitOf, type Storefront, type Visit } from '../visit.js';

/** Register, sign in and sign out: plain forms; the session cookie is the one the API sets. */
export function accountRoutes(app: Hono<AppEnv>, storefront: Storefront): void {
  app.get('/register', async (c) => registerPage(c, await visitOf(c, storefront), {}));
  app.post('/register', async (c) => register(c, await visitOf(c, storefront)));
  app.get('/sign-in', async (c) => signInPage(c, await visitOf(c, storefront), {}));
  app.post('/sign-in', async (c) => signIn(c, await visitOf(c, storefront)));
  app.post('/sign-out', async (c) => signOut(c, await visitOf(c, storefront)));
}

interface FormState {
  values?: Record<string, string>;
  errors?: FieldErrors;
  message?: string;
}

const text = (form: Record<string, unknown>, name: string) => (typeof form[name] === 'string' ? form[name] : '');

/** The API's Set-Cookie (the session, or its end) passed on to the browser with our redirect. */
function withCookies(response: Response, from: Answer<unknown>): Response {
  for (const cookie of from.response.headers.getSetCookie()) response.headers.append('Set-Cookie', cookie);
  return response;
}

function registerPage(c: Context, visit: Visit, state: FormState, status: ContentfulStatusCode = 200) {
  const { t } = visit.locale;
  const values = state.values ?? {};
  return render(
    c,
    visit,
    t.createAccount,
    <>
      <h1>{t.createAccount}</h1>
      {state.message ? <Notice kind="error">{state.message}</Notice> : null}
      <form method="post" action="/register" class="narrow" novalidate>
        <input type="hidden" name="back" value={values.back ?? localPath(c.req.query('back'))} />
        <Field name="name" label={t.name} value={values.name} errors={state.errors} autocomplete="name" required />
        <Field name="email" label={t.email} type="email" value={values.email} errors={state.errors} autocomplete="email" required />
        <Field name="password" label={t.password} type="password" hint={t.passwordHint} errors={state.errors} autocomplete="new-password" required />
        <button type="submit">{t.createAccountButton}</button>
      </form>
      <p>
        {t.haveAccount} <a href="/sign-in">{t.signIn}</a>
      </p>
    </>,
    status,
  );
}

async function register(c: Context, visit: Visit) {
  const form = await c.req.parseBody();
  const values = { name: text(form, 'name'), email: text(form, 'email'), back: localPath(text(form, 'back')) };
  const password = text(form, 'password');
  const created = await visit.api.register({ name: values.name, email: values.email, password });
  if (!created.ok) {
    const problem = created.problem;
    const errors = problem.code === 'email_taken' ? { email: visit.locale.t.emailTaken } : fieldErrors(problem);
    return registerPage(c, visit, { values, errors, message: problemMessage(visit, problem) }, pageStatusOf(problem.status));
  }
  const session = await visit.api.login({ email: values.email, password });
  if (!session.ok) return seeOther(c, '/sign-in');
  return withCookies(seeOther(c, values.back), session);
}

function signInPage(c: Context, visit: Visit, state: FormState, status: ContentfulStatusCode = 200) {
  const { t } = visit.locale;
  const values = state.values ?? {};
  const back = values.back ?? localPath(c.req.query('back'));
  return render(
    c,
    visit,
    t.signIn,
    <>
      <h1>{t.signIn}</h1>
      {state.message ? <Notice kind="error">{state.message}</Notice> : back !== '/' ? <Notice kind="info">{t.signInToContinue}</Notice> : null}
      <form method="post" action="/sign-in" class="narrow" novalidate>
        <input type="hidden" name="back" value={back} />
        <Field name="email" label={t.email} type="email" value={values.email} errors={state.errors} autocomplete="email" required />
        <Field name="password" label={t.password} type="password" errors={state.errors} autocomplete="current-password" required />
        <button type="submit">{t.signIn}</button>
      </form>
      <p>
        {t.noAccount} <a href="/register">{t.register}</a>
      </p>
    </>,
    status,
  );
}

async function signIn(c: Context, visit: Visit) {
  const form = await c.req.parseBody();
  const values = { email: text(form, 'email'), back: localPath(text(form, 'back')) };
  const session = await visit.api.login({ email: values.email, password: text(form, 'password') });
  if (session.ok) return withCookies(seeOther(c, values.back), session);
  const problem = session.problem;
  const message = problem.code === 'invalid_credentials' ? visit.locale.t.wrongCredentials : problemMessage(visit, problem);
  return signInPage(c, visit, { values, errors: fieldErrors(problem), message }, pageStatusOf(problem.status));
}

async function signOut(c: Context, visit: Visit) {
  const ended = await visit.api.logout();
  const response = withCookies(seeOther(c, '/'), ended);
  // A session that had already ended gets no Set-Cookie from the API: forget it here. (A refusal
  // for another reason, such as a post from another site, leaves the session as it is.)
  if (!ended.ok && ended.problem.status === 401) response.headers.append('Set-Cookie', `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax`);
  return response;
}
