import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import type { PublicApi } from '../../kernel/public-api.js';
import { SESSION_COOKIE } from '../../kernel/auth-context.js';
import { StoreApi, type User } from './api.js';
import type { StoreAssets } from './assets.js';
import { LANGUAGE_COOKIE, chooseLanguage, localeFor, type Locale } from './i18n.js';

/** The storefront's instance: how it reaches the API, and its assets. */
export interface Storefront {
  publicApi: PublicApi;
  assets: StoreAssets;
}

/** One page view: who is visiting, in which language, and the API on their behalf. */
export interface Visit {
  api: StoreApi;
  locale: Locale;
  /** Undefined when signed out (or the session ended). */
  user: User | undefined;
  /** The path and query of this page, to come back to after signing in or switching language. */
  here: string;
  assets: StoreAssets;
}

export async function visitOf(c: Context, storefront: Storefront): Promise<Visit> {
  const api = new StoreApi(storefront.publicApi, c);
  const locale = localeFor(chooseLanguage(getCookie(c, LANGUAGE_COOKIE), c.req.header('accept-language')));
  const url = new URL(c.req.url);
  const signedIn = getCookie(c, SESSION_COOKIE) !== undefined;
  const me = signedIn ? await api.me() : undefined;
  return { api, locale, user: me?.ok ? me.data.user : undefined, here: url.pathname + url.search, assets: storefront.assets };
}

const HERE = 'http://store.invalid';

/**
 * A path on this site to go back to, percent-encoded for a Location header; anything that URL
 * parsing would take to another origin (`//host`, `/\\host`) goes home instead.
 */
export function localPath(value: string | undefined): string {
  if (!value?.startsWith('/')) return '/';
  const url = new URL(value, HERE);
  return url.origin === HERE ? url.pathname + url.search : '/';
}
