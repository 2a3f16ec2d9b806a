// For You learns from viewing: a viewer who watches only #cooking to the end,
// and skips everything else, gets a For You feed that is mostly #cooking.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiClient, assertNoConsoleErrors, launch, logIn, makeClip, needs, openFeedUntilVideo, openPage, PHONE, uniqueHandle } from '../lib/harness.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

// Enough of each that the viewer cannot exhaust the #cooking clips while
// teaching the feed (with 12, a quick learner left only a few unseen).
const PER_TAG = 24;
const isCooking = (caption) => /#cooking\b/i.test(caption || '');

test('after watching only #cooking to the end, For You is mostly #cooking', async (t) => {
  if (!(await needs(t, ['POST /v1/accounts', 'POST /v1/videos', 'GET /v1/feed/for-you', 'POST /v1/events']))) return;
  const probe = await new ApiClient().signUp(uniqueHandle('probe'), 'US');
  const release = (await probe.call('GET', '/v1/feed/for-you')).release || '';
  if (/^baseline/.test(release)) return t.skip(`For You runs ${release}, not the recommendation engine`);
  const creator = await new ApiClient().signUp(uniqueHandle('mix'), 'US');
  const cooking = makeClip('cooking', { color: 'darkorange', seconds: 1 });
  const other = makeClip('other', { color: 'slateblue', seconds: 1 });
  for (let i = 0; i < PER_TAG; i++) {
    await creator.upload(cooking, `Recipe ${i} #cooking`);
    await creator.upload(other, `Level ${i} #gaming`);
  }

  const viewer = uniqueHandle('taster');
  await new ApiClient().signUp(viewer, 'US');
  const page = await openPage(browser, { viewport: PHONE });
  await logIn(page, viewer);
  await openFeedUntilVideo(page, '/');
  const feed = page.getByRole('region', { name: 'For You feed' });
  await feed.locator('article.slide').first().waitFor();

  // Two pages' worth of swipes: cooking is watched to its end, the rest skipped at once.
  for (let i = 0; i < 10; i++) {
    const active = feed.locator('article.slide.active');
    await active.waitFor();
    const caption = await active.locator('.caption').textContent();
    const index = Number(await active.getAttribute('data-index'));
    if (isCooking(caption)) {
      await page.waitForFunction((at) => {
        const el = document.querySelector(`article.slide[data-index="${at}"]`);
        return el && Number(el.dataset.watchedMs || 0) >= Number(el.dataset.durationMs || Infinity);
      }, index, { timeout: 30_000 });
    }
    await page.keyboard.press('ArrowDown');
    await page.waitForFunction((at) => document.querySelector('article.slide.active')?.dataset.index !== String(at), index);
  }

  // A fresh page of For You: the events above went out when the page changed.
  await page.goto('/search');
  await page.goto('/');
  await feed.locator('article.slide').first().waitFor();
  const captions = await feed.locator('article.slide .caption').allTextContents();
  const firstPage = captions.slice(0, 8);
  const share = firstPage.filter(isCooking).length / firstPage.length;
  assert.ok(share >= 0.75, `expected mostly #cooking, got ${JSON.stringify(firstPage)}`);
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});
