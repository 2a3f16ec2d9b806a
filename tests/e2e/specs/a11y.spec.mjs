// Keyboard and screen-reader basics: every control has an accessible name, the
// feed moves with the arrow keys, the like button is a button named "Like",
// double-tap likes, and text colours keep a readable contrast.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiClient, assertNoConsoleErrors, launch, logIn, makeClip, needs, openFeedUntilVideo, openPage, PHONE, DESKTOP, uniqueHandle } from '../lib/harness.mjs';

let browser;
let viewer;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

let clips = [];

// Each test gets its own viewer: a feed that hides what its viewer has
// already seen must not depend on what an earlier test watched.
async function seeded(t) {
  if (!(await needs(t, ['POST /v1/accounts', 'POST /v1/videos', 'GET /v1/feed/for-you']))) return false;
  if (!clips.length) {
    const creator = await new ApiClient().signUp(uniqueHandle('maker'), 'AU');
    for (let i = 0; i < 4; i++) clips.push(await creator.upload(makeClip(`a11y${i}`, { color: ['maroon', 'darkgreen', 'indigo', 'sienna'][i], seconds: 1 }), `Clip ${i} #access`));
  }
  viewer = uniqueHandle('reader');
  await new ApiClient().signUp(viewer, 'AU');
  return true;
}

// The accessible name, computed the simple way for the markup this app makes.
function unnamedControls() {
  const nameOf = (el) => {
    if (el.getAttribute('aria-label')) return el.getAttribute('aria-label');
    const by = el.getAttribute('aria-labelledby');
    if (by) return by.split(/\s+/).map((id) => document.getElementById(id)?.textContent || '').join(' ');
    if (el.labels && el.labels.length) return [...el.labels].map((l) => l.textContent).join(' ');
    return (el.textContent || el.getAttribute('title') || el.querySelector('img[alt]')?.alt || '').trim();
  };
  const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  return [...document.querySelectorAll('button, a[href], input, select, textarea, video, [role="switch"]')]
    .filter(visible)
    .filter((el) => !nameOf(el).trim())
    .map((el) => el.outerHTML.slice(0, 120));
}

test('every visible control on the main screens has an accessible name', async (t) => {
  if (!(await seeded(t))) return;
  for (const viewport of [PHONE, DESKTOP]) {
    const page = await openPage(browser, { viewport });
    await logIn(page, viewer);
    // The player's controls, on a video's own page (the feeds use the same player).
    await page.goto(`/v/${clips[0].id}`);
    await page.locator('article.slide.active').waitFor();
    assert.deepEqual(await page.evaluate(unnamedControls), [], 'unnamed controls on the player');
    for (const [path, ready] of [['/upload', '#upload-file'], ['/search?q=access', '.results h2'], ['/settings', '#settings-private'], ['/privacy', '.access-log p'], ['/transparency', '.regions > *'], [`/@${viewer}`, '.profile-head']]) {
      await page.goto(path);
      await page.locator(ready).first().waitFor();
      assert.deepEqual(await page.evaluate(unnamedControls), [], `unnamed controls on ${path}`);
    }
    assertNoConsoleErrors(assert, page);
    await page.context().close();
  }
});

test('the feed moves with the arrow keys, and Like is a button reachable with Tab', async (t) => {
  if (!(await seeded(t))) return;
  const page = await openPage(browser);
  await logIn(page, viewer);
  await openFeedUntilVideo(page, '/');
  await page.locator('article.slide.active').waitFor();
  const activeIndex = () => page.locator('article.slide.active').getAttribute('data-index');
  assert.equal(await activeIndex(), '0');
  await page.keyboard.press('ArrowDown');
  await page.waitForFunction(() => document.querySelector('article.slide.active')?.dataset.index === '1');
  await page.keyboard.press('ArrowUp');
  await page.waitForFunction(() => document.querySelector('article.slide.active')?.dataset.index === '0');

  let reached = false;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement?.getAttribute('aria-label') === 'Like' && document.activeElement.tagName === 'BUTTON');
  }
  assert.ok(reached, 'Tab reaches a button named Like');
  await page.keyboard.press('Enter');
  await page.locator('article.slide.active button[aria-label="Like"][aria-pressed="true"]').waitFor();
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('double-tapping a video likes it; a single tap unmutes', async (t) => {
  if (!(await seeded(t))) return;
  const page = await openPage(browser, { viewport: PHONE });
  await logIn(page, viewer);
  await page.goto(`/v/${clips[2].id}`);
  const slide = page.locator('article.slide.active');
  await slide.waitFor();
  await slide.locator('.tap-layer').dblclick();
  await slide.locator('button[aria-label="Like"][aria-pressed="true"]').waitFor();
  await slide.locator('.tap-layer').click();
  await slide.getByRole('button', { name: 'Mute', exact: true }).waitFor();
  assert.equal(await slide.locator('video').evaluate((v) => v.muted), false);
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('text keeps a contrast ratio of at least 4.5:1 against its background', async () => {
  const page = await openPage(browser);
  await page.goto('/transparency');
  await page.locator('.regions > *').first().waitFor();
  const low = await page.evaluate(() => {
    const rgb = (s) => (s.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
      const f = (c) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
      }
      return rgb(getComputedStyle(document.body).backgroundColor).slice(0, 3);
    };
    const out = [];
    for (const el of document.querySelectorAll('main p, main dt, main dd, main h1, main h2, main a, nav a, main .badge')) {
      if (!el.textContent.trim() || !el.getClientRects().length) continue;
      const fg = lum(rgb(getComputedStyle(el).color));
      const bg = lum(background(el));
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
      if (ratio < 4.5) out.push(`${el.tagName}.${el.className}: ${ratio.toFixed(2)}`);
    }
    return out;
  });
  assert.deepEqual(low, []);
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});
