// The first page stays light: at most 150 KB of JavaScript and CSS before any
// video (issue 6), counted from the bytes the browser actually received.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoConsoleErrors, launch, openPage, PHONE } from '../lib/harness.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('the first page loads at most 150 KB of JS and CSS', async () => {
  const page = await openPage(browser, { viewport: PHONE });
  const sizes = [];
  page.on('response', async (response) => {
    const type = response.request().resourceType();
    if (type !== 'script' && type !== 'stylesheet') return;
    const headers = await response.allHeaders();
    const body = await response.body().catch(() => Buffer.alloc(0));
    // Content-Length is the size on the wire (compressed, when the server
    // compresses); without it, the decoded body overestimates, never under.
    sizes.push({ url: response.url(), bytes: Number(headers['content-length']) || body.length });
  });
  await page.goto('/');
  await page.locator('main section, main .feed').first().waitFor();
  await page.waitForLoadState('networkidle');
  const total = sizes.reduce((n, s) => n + s.bytes, 0);
  assert.ok(sizes.length >= 2, 'the app loaded its script and stylesheet');
  assert.ok(total <= 150 * 1024, `first page JS+CSS is ${total} bytes: ${JSON.stringify(sizes)}`);
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});
