/**
 * The browser harness itself, on the API reference page (/api/docs), which needs no storefront: the
 * page loads with no console error and no request to another origin, and each guard and the
 * accessibility check do catch what they are there to catch.
 */
import { describe, expect, it } from 'vitest';
import { browserAvailable, closeChecked, useBrowserStore } from './browser.testkit.js';
import { checkAccessibility, coldLoad, kilobytes, printTable, runAxe } from './audit.testkit.js';

const ready = await browserAvailable('test/browser/harness.test.ts');

describe.runIf(ready)('the browser harness, on the API reference', () => {
  const started = useBrowserStore();

  it('loads /api/docs with no console error and only requests to the store', async () => {
    const opened = await started().open();
    const { page } = opened;
    const load = await coldLoad(page, '/api/docs');
    await page.getByRole('heading', { level: 1 }).first().waitFor();
    await page.waitForTimeout(1000);
    const axe = await runAxe(page);
    printTable('API reference (third-party page: reported, not asserted)', [{ page: '/api/docs', requests: load.requests, weight: kilobytes(load.bytes), ...axe.counts }]);
    console.log(axe.lines.join('\n'));
    // The one error the store makes here: the page names no icon, so Chromium asks for /favicon.ico, a 404.
    const favicon = (line: string) => /404.*\/favicon\.ico\)$/.test(line);
    expect(opened.guards.consoleErrors.filter((line) => !favicon(line))).toEqual([]);
    opened.guards.consoleErrors = [];
    await closeChecked(opened);
  }, 60_000);

  it('catches console errors, uncaught page errors and requests to another origin', async () => {
    const { context, page, guards } = await started().open({ bypassCSP: true });
    await page.goto('/api/docs');
    await page.evaluate(`console.error('a console error'); fetch('http://foreign.invalid/track').catch(() => {}); setTimeout(() => { throw new Error('an uncaught error'); }, 0);`);
    await expect.poll(() => guards.pageErrors.length).toBe(1);
    await expect.poll(() => guards.foreignRequests.length).toBe(1);
    expect(guards.consoleErrors.join('\n')).toContain('a console error');
    expect(guards.pageErrors[0]).toContain('an uncaught error');
    expect(guards.foreignRequests[0]).toBe('GET http://foreign.invalid/track');
    await context.close();
  });

  it('fails the accessibility check on a serious violation, naming it', async () => {
    const { context, page } = await started().open();
    await page.goto('/api/docs');
    await page.evaluate(`document.body.insertAdjacentHTML('afterbegin', '<a href="/x"><img src="/x.png"></a>');`);
    await expect(checkAccessibility(page)).rejects.toThrow(/image-alt|link-name/);
    await context.close();
  });
});
