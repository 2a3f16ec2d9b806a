// The main story of issue 6: a US creator uploads, an Australian viewer finds
// the clip by hashtag, watches, likes, comments and follows, and each side sees
// the other's actions.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoConsoleErrors, launch, logIn, makeClip, needs, openPage, PHONE, DESKTOP, screenshot, signUp, uniqueHandle, upload } from '../lib/harness.mjs';

let browser;
const creator = uniqueHandle('chef');
const viewer = uniqueHandle('fan');
const tag = `cook${Date.now().toString(36)}`;
let videoId;

before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('a US user signs up, sees where the data is held, uploads a clip and sees it processed', async (t) => {
  if (!(await needs(t, ['POST /v1/accounts', 'POST /v1/sessions', 'POST /v1/videos']))) return;
  const page = await openPage(browser);
  const residency = await signUp(page, { handle: creator, country: 'US' });
  assert.match(residency, /^Your data is held in .+ by .+\.$/);
  assert.match(await page.getByTestId('home-region').textContent(), /held in .*United States/i);
  videoId = await upload(page, { file: makeClip('first', { color: 'tomato' }), caption: `Weeknight pasta #${tag} with @${viewer}` });
  assert.ok(videoId);
  // The progress bar followed the upload to its end.
  assert.equal(await page.getByRole('progressbar', { name: 'Upload progress' }).evaluate((p) => p.value), 100);
  await page.goto(`/@${creator}`);
  await page.getByRole('link', { name: new RegExp(`Video by @${creator}: Weeknight pasta`) }).waitFor();
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('an Australian user finds it by hashtag, watches, likes, comments and follows', async (t) => {
  if (!videoId) return t.skip('needs the upload of the previous test');
  const page = await openPage(browser, { viewport: PHONE });
  const residency = await signUp(page, { handle: viewer, country: 'AU' });
  assert.match(residency, /Australia/);
  await page.goto('/search');
  await page.getByRole('searchbox', { name: 'Search' }).fill(`#${tag}`);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL(`**/tag/${tag}`);
  await page.getByRole('link', { name: new RegExp(`Video by @${creator}`) }).click();
  await page.waitForURL(`**/v/${videoId}`);

  const slide = page.locator(`article.slide[data-video-id="${videoId}"]`);
  // Playback really started: the watched time grows past zero.
  await page.waitForFunction((id) => Number(document.querySelector(`article[data-video-id="${id}"]`)?.dataset.watchedMs || 0) > 300, videoId);

  const like = slide.getByRole('button', { name: 'Like', exact: true });
  await like.click();
  await assert.doesNotReject(like.and(page.locator('[aria-pressed="true"]')).waitFor());
  assert.equal(await slide.locator('.rail-item').nth(0).locator('.count').textContent(), '1');

  await slide.getByRole('button', { name: 'Comments' }).click();
  const drawer = page.getByRole('dialog', { name: /Comments/ });
  await drawer.getByRole('textbox', { name: 'Comment' }).fill(`Made this tonight #${tag}!`);
  await drawer.getByRole('button', { name: 'Post' }).click();
  await drawer.getByText('Made this tonight').waitFor();
  await drawer.getByRole('button', { name: `Reply to @${viewer}` }).click();
  await drawer.getByRole('textbox', { name: 'Comment' }).fill('Replying to myself');
  await drawer.getByRole('button', { name: 'Post' }).click();
  await drawer.getByRole('list', { name: `Replies to @${viewer}` }).getByText('Replying to myself').waitFor();
  await drawer.getByRole('button', { name: 'Close' }).click();

  await slide.getByRole('button', { name: `Follow @${creator}` }).click();
  await slide.getByRole('button', { name: `Unfollow @${creator}` }).waitFor();
  assertNoConsoleErrors(assert, page);
  await page.context().close();
});

test('the creator sees the like and comment counts, and the follower gets new uploads in Following', async (t) => {
  if (!videoId) return t.skip('needs the earlier tests');
  const page = await openPage(browser);
  await logIn(page, creator);
  // Counters reach the creator's region asynchronously (an aggregate relay), so
  // look again until they arrive, a bounded number of times.
  const slide = page.locator(`article.slide[data-video-id="${videoId}"]`);
  let counts = [];
  for (let attempt = 0; attempt < 40; attempt++) {
    await page.goto(`/v/${videoId}`);
    await slide.waitFor();
    counts = [await slide.locator('.rail-item').nth(0).locator('.count').textContent(), await slide.locator('.rail-item').nth(1).locator('.count').textContent()];
    if (counts[0] === '1' && counts[1] === '2') break;
    await page.waitForTimeout(500);
  }
  assert.deepEqual(counts, ['1', '2'], 'likes and comments as the creator sees them');
  let stats = '';
  for (let attempt = 0; attempt < 40 && !/1 Followers/.test(stats); attempt++) {
    if (attempt) await page.waitForTimeout(500);
    await page.goto(`/@${creator}`);
    stats = await page.getByRole('list', { name: 'Counts' }).textContent();
  }
  assert.match(stats, /1 Followers/);
  const second = await upload(page, { file: makeClip('second', { color: 'teal' }), caption: `Second dish #${tag}` });
  await page.context().close();

  const fan = await openPage(browser, { viewport: PHONE });
  await logIn(fan, viewer);
  let found = false;
  for (let attempt = 0; attempt < 20 && !found; attempt++) {
    await fan.goto('/following');
    await fan.waitForFunction(() => document.querySelector('article.slide') || !/Loading/.test(document.querySelector('.feed-status')?.textContent ?? 'Loading'));
    found = await fan.locator(`article.slide[data-video-id="${second}"]`).isVisible().catch(() => false)
      || (await fan.locator(`article.slide[data-video-id="${second}"]`).count()) > 0;
    if (!found) await fan.waitForTimeout(500);
  }
  assert.ok(found, 'the new upload is in the follower\'s Following feed');
  assertNoConsoleErrors(assert, fan);
  await fan.context().close();
});

test('every main screen renders at phone and desktop sizes without console errors', async (t) => {
  if (!videoId) return t.skip('needs the earlier tests');
  for (const viewport of [PHONE, DESKTOP]) {
    const page = await openPage(browser, { viewport });
    await logIn(page, viewer);
    await page.goto('/');
    await page.goto('/');
    await page.locator('article.slide.active, .feed-status').first().waitFor();
    // A feed that hides what this viewer has seen may have run dry: show the clip itself.
    if (!(await page.locator('article.slide.active').count())) await page.goto(`/v/${videoId}`);
    await page.waitForFunction(() => document.querySelector('article.slide.active video')?.readyState >= 2);
    await screenshot(page, 'feed');
    await page.goto('/upload');
    await page.getByLabel('Video file').setInputFiles(makeClip('shot', { color: 'purple' }));
    await page.getByLabel('Caption').fill('Screenshot of the upload form #demo');
    await page.waitForFunction(() => document.querySelector('video.preview')?.readyState >= 1);
    await screenshot(page, 'upload');
    await page.goto(`/@${creator}`);
    await page.locator('.grid .tile').first().waitFor();
    await screenshot(page, 'profile');
    // An export is carried out by the region's operator: an access worth showing.
    const exported = await page.evaluate(async () => {
      const r = await fetch('/v1/me/exports', { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: '{}' });
      return r.ok;
    });
    await page.goto('/privacy');
    await page.locator('.access-log .verified-line, .access-log .error, .access-log .notice').first().waitFor();
    if (exported) {
      for (let i = 0; i < 20 && !(await page.locator('.access-log .entries').count()); i++) {
        await page.waitForTimeout(300);
        await page.getByRole('button', { name: 'Check again' }).click();
        await page.locator('.access-log .verified-line, .access-log .error').first().waitFor();
      }
    }
    await page.locator('#access-title').evaluate((el) => el.scrollIntoView());
    await screenshot(page, 'privacy');
    await page.goto('/transparency');
    await page.locator('.regions > *').first().waitFor();
    await page.waitForFunction(() => !document.querySelector('.checkpoint .signature-status.muted'));
    await screenshot(page, 'transparency');
    assertNoConsoleErrors(assert, page);
    await page.context().close();
  }
});
