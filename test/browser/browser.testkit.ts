/**
 * Browser tests: Debian's Chromium driven by playwright-core, against the store of store.testkit.ts.
 * `useBrowserStore` starts the store and the browser for a describe block; `openPage` opens a fresh
 * context whose pages are watched by guards (console errors, page errors, requests to any other
 * origin) that each test checks at its end. Not a test file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { servicesAvailable } from '../harness.js';
import { startBrowserStore, type BrowserStore } from './store.testkit.js';

const IN_CI = process.env.CI === 'true';

/** Chromium's path: CHROMIUM_PATH, or `command -v chromium`; undefined when there is none. */
export function chromiumPath(): string | undefined {
  if (process.env.CHROMIUM_PATH) return existsSync(process.env.CHROMIUM_PATH) ? process.env.CHROMIUM_PATH : undefined;
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a browser test file can run: MariaDB, Redis and Chromium present. Outside CI a missing one
 * skips the file with one line; under CI=true it fails, as servicesAvailable does.
 */
export async function browserAvailable(file: string): Promise<boolean> {
  if (!(await servicesAvailable(file, ['mysql', 'redis']))) return false;
  if (!chromiumPath()) {
    const message = `${file}: chromium not found (apt-get install chromium, or set CHROMIUM_PATH)`;
    if (IN_CI) throw new Error(`${message} (CI=true: failing instead of skipping)`);
    console.warn(`SKIPPED ${message}`);
    return false;
  }
  return true;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox'] });
}

/** What the guards saw on every page of one context. */
export interface Guards {
  consoleErrors: string[];
  pageErrors: string[];
  foreignRequests: string[];
}

export interface OpenedPage {
  context: BrowserContext;
  page: Page;
  guards: Guards;
}

/** Watches a context: its console errors, uncaught page errors, and requests to another origin than `origin`. */
export function guard(context: BrowserContext, origin: string): Guards {
  const guards: Guards = { consoleErrors: [], pageErrors: [], foreignRequests: [] };
  const watch = (page: Page) => {
    page.on('console', (message) => {
      const source = message.location().url;
      if (message.type() === 'error') guards.consoleErrors.push(`${page.url()}: ${message.text()}${source && source !== page.url() ? ` (${source})` : ''}`);
    });
    page.on('pageerror', (error) => guards.pageErrors.push(`${page.url()}: ${error.message}`));
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  context.on('request', (request) => {
    const url = new URL(request.url());
    if (url.protocol !== 'data:' && url.protocol !== 'blob:' && url.origin !== origin) guards.foreignRequests.push(`${request.method()} ${request.url()}`);
  });
  return guards;
}

/** A fresh context (its own cookies and cache) with one page, watched by the guards. */
export async function openPage(browser: Browser, origin: string, options: BrowserContextOptions = {}): Promise<OpenedPage> {
  const context = await browser.newContext({ baseURL: origin, locale: 'en-US', ...options });
  const guards = guard(context, origin);
  // Shorter than a test's timeout, so that a missing element fails with Playwright's own message.
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  return { context, page, guards };
}

/**
 * Takes back the console errors a test caused on purpose (say, the 401 of a refused sign-in, which
 * Chromium logs as a resource that failed to load): those matching `expected`, and no other.
 */
export function forgive(guards: Guards, expected: RegExp) {
  guards.consoleErrors = guards.consoleErrors.filter((line) => !expected.test(line));
}

export function expectNoConsoleErrors(guards: Guards) {
  expect(guards.pageErrors, 'uncaught errors in the page').toEqual([]);
  expect(guards.consoleErrors, 'console errors').toEqual([]);
}

export function expectOnlyStoreRequests(guards: Guards) {
  expect(guards.foreignRequests, 'requests to another origin than the store').toEqual([]);
}

/** Both guards, then the context closed. */
export async function closeChecked({ context, guards }: OpenedPage) {
  await context.close();
  expectNoConsoleErrors(guards);
  expectOnlyStoreRequests(guards);
}

/**
 * Registers a beforeAll that starts the store and Chromium, and an afterAll that closes both, in the
 * describe block that calls it; `started()` reads them inside tests and hooks.
 */
export function useBrowserStore(env: Record<string, string> = {}) {
  let store: BrowserStore | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    const [started, launched] = await Promise.allSettled([startBrowserStore(env), launchChromium()]);
    if (started.status === 'fulfilled') store = started.value;
    if (launched.status === 'fulfilled') browser = launched.value;
    if (started.status === 'rejected') throw started.reason;
    if (launched.status === 'rejected') throw launched.reason;
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await store?.close();
  });
  return () => {
    const [running, launched] = [store, browser];
    if (!running || !launched) throw new Error('the store and the browser start in beforeAll: read them inside a test or a hook');
    return { store: running, browser: launched, open: (options?: BrowserContextOptions) => openPage(launched, running.url, options) };
  };
}

/** Times named steps: `time(step, run)` runs `run` and records how long it took, failed or not. */
export function stopwatch() {
  const steps: { step: string; ms: number }[] = [];
  return {
    steps,
    async time<T>(step: string, run: () => Promise<T>): Promise<T> {
      const start = performance.now();
      try {
        return await run();
      } finally {
        steps.push({ step, ms: Math.round(performance.now() - start) });
      }
    },
  };
}
